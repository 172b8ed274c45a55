using System.IO.Compression;
using System.Text;
using CtrFallback.Data;

namespace CtrFallback.Tests;

public sealed class ClickLogReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string CriteoLine(string label = "1", string i1 = "3", string c1 = "68fd1e64")
    {
        var numeric = new[] { i1 }.Concat(Enumerable.Repeat("1", 12));
        var categorical = new[] { c1 }.Concat(Enumerable.Repeat("abcdef01", 25));
        return string.Join('\t', new[] { label }.Concat(numeric).Concat(categorical));
    }

    private static List<string> ReadAll(ClickLogReader reader)
    {
        var labels = new List<string>();
        while (reader.Read())
        {
            labels.Add($"{reader.Row.File}:{reader.Row.LineNumber}");
        }

        return labels;
    }

    [Fact]
    public void Read_CriteoLines_ParsesLabelNumbersAndCategoricals()
    {
        var path = _dir.Write("a.tsv", CriteoLine("1", "-2", "") + "\n" + CriteoLine("0", "", "0a1b2c3d") + "\n");
        using var reader = new ClickLogReader(ClickLogSchema.Criteo, [path]);

        reader.Read().Should().BeTrue();
        reader.Row.Label.Should().BeTrue();
        reader.Row.Numeric[0].Should().Be(-2);
        reader.Row.Categorical(0).ToString().Should().BeEmpty();
        reader.Read().Should().BeTrue();
        reader.Row.Label.Should().BeFalse();
        double.IsNaN(reader.Row.Numeric[0]).Should().BeTrue();
        reader.Row.Categorical(0).ToString().Should().Be("0a1b2c3d");
        reader.Read().Should().BeFalse();
        reader.Malformed.Count.Should().Be(0);
    }

    [Fact]
    public void Read_MalformedRows_AreCountedWithFileAndLine()
    {
        var lines = new[]
        {
            CriteoLine(),
            CriteoLine() + "\textra",
            CriteoLine(label: "2"),
            CriteoLine(i1: "12abc"),
            CriteoLine(),
        };
        var path = _dir.Write("bad.tsv", string.Join("\n", lines) + "\n");
        using var reader = new ClickLogReader(ClickLogSchema.Criteo, [path]);

        var read = ReadAll(reader);

        read.Should().Equal($"{path}:1", $"{path}:5");
        reader.Malformed.Count.Should().Be(3);
        reader.Malformed.First.Select(m => m.Line).Should().Equal(2, 3, 4);
        reader.Malformed.First[0].Reason.Should().Contain("expected 40 fields, found 41");
        reader.Malformed.First[1].Reason.Should().Contain("label").And.Contain("'2'");
        reader.Malformed.First[2].Reason.Should().Contain("'I1'").And.Contain("12abc");
    }

    [Fact]
    public void Read_GzipAndSeveralFiles_ReadsThemInOrder()
    {
        var plain = _dir.Write("1.tsv", CriteoLine("1") + "\n");
        var gz = _dir.File("2.tsv.gz");
        using (var file = File.Create(gz))
        using (var zip = new GZipStream(file, CompressionLevel.Fastest))
        {
            zip.Write(Encoding.UTF8.GetBytes(CriteoLine("0") + "\n" + CriteoLine("0") + "\n"));
        }

        using var reader = new ClickLogReader(ClickLogSchema.Criteo, [plain, gz]);

        ReadAll(reader).Should().Equal($"{plain}:1", $"{gz}:1", $"{gz}:2");
        reader.Fingerprint().Should().HaveLength(64);
    }

    [Fact]
    public void Read_CsvWithHeader_MapsColumnsByNameAndParsesTimestamp()
    {
        var path = _dir.Write("avazu.csv",
            "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\r\n" +
            "1000009418151094273,0,14102100,1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,1,2,15706,320,50,1722,0,35,-1,79\r\n");
        using var reader = new ClickLogReader(ClickLogSchema.Avazu, [path]);

        reader.Read().Should().BeTrue();
        reader.Row.Label.Should().BeFalse();
        reader.Row.Timestamp.Should().Be(new DateTimeOffset(2014, 10, 21, 0, 0, 0, TimeSpan.Zero));
        reader.Row.Categorical(2).ToString().Should().Be("1fbe01fe", "site_id is the third categorical of the preset");
        reader.Row.Categorical(20).ToString().Should().Be("79", "the trailing \\r is not part of the last field");
    }

    [Fact]
    public void Open_SchemaNamingAMissingColumn_FailsWithTheColumnName()
    {
        var path = _dir.Write("log.csv", "click,site\n1,a\n");
        var schema = ClickLogSchema.Parse("""{ "separator": ",", "hasHeader": true, "label": "click", "categorical": ["site", "device"] }""");
        using var reader = new ClickLogReader(schema, [path]);

        var act = () => reader.Read();

        act.Should().Throw<ClickLogSchemaException>().WithMessage("*unknown column 'device'*categorical*");
    }
}
