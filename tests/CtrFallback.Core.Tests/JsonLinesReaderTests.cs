using System.IO.Compression;
using System.Text;
using CtrFallback.Data;
using CtrFallback.Training;

namespace CtrFallback.Tests;

public sealed class JsonLinesReaderTests : IDisposable
{
    private static readonly ClickLogSchema Schema = ClickLogSchema.Parse(
        """{ "hasHeader": true, "label": "click", "numeric": ["bid", "count"], "categorical": ["site", "device"], "timestamp": { "column": "ts", "format": "unix" } }""");

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteGzip(string name, string content)
    {
        var path = _dir.File(name);
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(Encoding.UTF8.GetBytes(content));
        return path;
    }

    [Fact]
    public void Read_JsonLines_TakesTheSchemasKeysInAnyOrderAndTreatsMissingAndNullAsEmpty()
    {
        var path = _dir.Write("a.jsonl", string.Join('\n',
            """{"site":"news","click":1,"bid":0.25,"count":3,"device":"ios","ts":1764500000,"extra":{"x":[1,2]}}""",
            """{"click":false,"device":null,"bid":"7","site":"caf\u00e9 \"x\""}""") + "\n");
        using var reader = new ClickLogReader(Schema, [path]);

        reader.Read().Should().BeTrue();
        reader.Row.Label.Should().BeTrue();
        reader.Row.Numeric.Should().Equal(0.25, 3);
        reader.Row.Categorical(0).ToString().Should().Be("news");
        reader.Row.Categorical(1).ToString().Should().Be("ios");
        reader.Row.Timestamp.Should().Be(DateTimeOffset.FromUnixTimeSeconds(1764500000));
        reader.Row.LineNumber.Should().Be(1);

        reader.Read().Should().BeTrue();
        reader.Row.Label.Should().BeFalse();
        reader.Row.Numeric[0].Should().Be(7);
        double.IsNaN(reader.Row.Numeric[1]).Should().BeTrue();
        reader.Row.Categorical(0).ToString().Should().Be("café \"x\"");
        reader.Row.Categorical(1).ToString().Should().BeEmpty();
        reader.Row.Timestamp.Should().BeNull();
        reader.Read().Should().BeFalse();
        reader.Malformed.Count.Should().Be(0);
    }

    [Fact]
    public void Read_MalformedJsonLines_AreCountedWithFileAndLineNumber()
    {
        var lines = new[]
        {
            """{"click":1,"site":"a"}""",
            """{"click":1,"site":"a" """,
            """{"click":null,"site":"a"}""",
            """{"click":0,"bid":"cheap"}""",
            """{"click":0,"site":["a","b"]}""",
            string.Empty,
            """[1,2]""",
            """{"click":0}""",
        };
        var path = WriteGzip("bad.jsonl.gz", string.Join('\n', lines) + "\n");
        using var reader = new ClickLogReader(Schema, [path]);

        var read = new List<long>();
        while (reader.Read())
        {
            read.Add(reader.Row.LineNumber);
        }

        read.Should().Equal(1, 8);
        reader.Malformed.Count.Should().Be(6);
        reader.Malformed.First[0].ToString().Should().StartWith($"{path}:2: not valid JSON (");
        reader.Malformed.First.Skip(1).Select(m => m.ToString()).Should().Equal(
            $"{path}:3: label 'click' is '', not 0 or 1",
            $"{path}:4: numeric field 'bid' is 'cheap', not a number",
            $"{path}:5: field 'site' is an array, not a value",
            $"{path}:6: empty line, not a JSON object",
            $"{path}:7: not a JSON object");
    }

    [Fact]
    public void Train_OnJsonLinesAndOnTheSameRowsAsTsv_GivesTheSameModelAndMetrics()
    {
        var tsv = _dir.File("log.tsv");
        SyntheticClickLog.Write(tsv, new SyntheticClickLogOptions { Rows = 20_000, Seed = 5 });
        var columns = ClickLogSchema.Criteo.Columns!;
        var json = new StringBuilder();
        foreach (var line in File.ReadLines(tsv))
        {
            var fields = line.Split('\t');
            json.Append('{');
            for (var i = 0; i < fields.Length; i++)
            {
                // Numbers as JSON numbers, empty numerics left out, categoricals as strings.
                if (i <= 13 && fields[i].Length == 0)
                {
                    continue;
                }

                json.Append(json[^1] == '{' ? string.Empty : ",").Append('"').Append(columns[i]).Append("\":");
                json.Append(i <= 13 ? fields[i] : $"\"{fields[i]}\"");
            }

            json.Append("}\n");
        }

        var jsonl = WriteGzip("log.jsonl.gz", json.ToString());

        var fromTsv = TrainedModelFixture.Train(new TrainingOptions(), tsv);
        var fromJson = TrainedModelFixture.Train(new TrainingOptions(), jsonl);

        fromJson.Rows.Should().Be(20_000);
        fromJson.MalformedRows.Should().Be(0);
        fromJson.Evaluation.Metrics.Auc.Should().BeApproximately(fromTsv.Evaluation.Metrics.Auc, 1e-9);
        fromJson.Evaluation.Metrics.LogLoss.Should().BeApproximately(fromTsv.Evaluation.Metrics.LogLoss, 1e-9);
        fromJson.Parameters["data.files"].Should().Be(jsonl);
    }
}
