using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.Options;

namespace CtrFallback.Parquet.Tests;

public sealed class ParquetReaderTests : IDisposable
{
    private static readonly ClickLogSchema Small = ClickLogSchema.Parse(
        """{ "hasHeader": true, "label": "click", "numeric": ["bid"], "categorical": ["site"] }""");

    private readonly TempDirectory _dir = new();

    public ParquetReaderTests() => ParquetClickLogs.Register();

    public void Dispose() => _dir.Dispose();

    private static TrainingResult Train(TrainingOptions options, params string[] data) =>
        new CtrTrainer(Options.Create(options), TimeProvider.System).TrainAsync(ClickLogSchema.Criteo, data).GetAwaiter().GetResult();

    private string SmallParquet(string name, string query)
    {
        var path = _dir.File(name);
        DuckDbParquet.Execute($"COPY ({query}) TO '{DuckDbParquet.Quote(path)}' (FORMAT parquet, ROW_GROUP_SIZE 2048)");
        return path;
    }

    [SkippableFact]
    public void Read_ParquetWrittenByDuckDb_GivesTheRowsOfTheTsvItCameFrom()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var tsv = _dir.File("log.tsv");
        // Enough rows that the reader's batches, and the source's decoded batches the rows point at, are reused many times.
        SyntheticClickLog.Write(tsv, new SyntheticClickLogOptions { Rows = 30_000, Seed = 3 });
        var parquet = _dir.File("log.parquet");
        DuckDbParquet.CriteoTsvToParquet(tsv, parquet, rowGroupSize: 1_000);

        using var fromTsv = new ClickLogReader(ClickLogSchema.Criteo, [tsv]);
        using var fromParquet = new ClickLogReader(ClickLogSchema.Criteo, [parquet]);
        var rows = 0;
        while (fromTsv.Read())
        {
            fromParquet.Read().Should().BeTrue();
            fromParquet.Row.Label.Should().Be(fromTsv.Row.Label);
            fromParquet.Row.Numeric.Should().Equal(fromTsv.Row.Numeric);
            for (var c = 0; c < 26; c++)
            {
                fromParquet.Row.Categorical(c).ToString().Should().Be(fromTsv.Row.Categorical(c).ToString());
            }

            rows++;
        }

        fromParquet.Read().Should().BeFalse();
        rows.Should().Be(30_000);
        fromParquet.Malformed.Count.Should().Be(0);
        fromParquet.Fingerprint().Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(parquet))));
    }

    [SkippableFact]
    public void Train_OnSevenDailyParquetPartitionsAndOnTheTsv_GivesTheSameMetrics_AndAWindowReadsTheNewestThree()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var tsv = _dir.File("log.tsv");
        SyntheticClickLog.Write(tsv, new SyntheticClickLogOptions { Rows = 21_000, Seed = 8 });
        var lines = File.ReadAllLines(tsv);
        var days = new List<string>();
        for (var d = 0; d < 7; d++)
        {
            var part = _dir.File($"part-{d}.tsv");
            File.WriteAllLines(part, lines.Skip(d * 3_000).Take(3_000));
            var parquet = Path.Combine(_dir.Path, "logs", $"dt=2026-11-{24 + d}", "data_0.parquet");
            DuckDbParquet.CriteoTsvToParquet(part, parquet, rowGroupSize: 1_000);
            days.Add(parquet);
        }

        var logs = Path.Combine(_dir.Path, "logs");
        var fromTsv = Train(new TrainingOptions(), tsv);
        var fromParquet = Train(new TrainingOptions(), logs);
        var windowed = Train(new TrainingOptions { Window = "3d" }, logs + "/**/*.parquet");

        fromParquet.Rows.Should().Be(21_000);
        fromParquet.Evaluation.Metrics.Auc.Should().BeApproximately(fromTsv.Evaluation.Metrics.Auc, 1e-6);
        fromParquet.Evaluation.Metrics.LogLoss.Should().BeApproximately(fromTsv.Evaluation.Metrics.LogLoss, 1e-6);
        fromParquet.Evaluation.Metrics.Calibration.Should().BeApproximately(fromTsv.Evaluation.Metrics.Calibration, 1e-6);
        fromParquet.Parameters["data.files"].Split(',').Should().Equal(days);
        windowed.Parameters["data.files"].Split(',').Should().Equal(days.Skip(4));
        windowed.Parameters["data.partitions"].Should().Be("2026-11-28,2026-11-29,2026-11-30");
        windowed.Rows.Should().Be(9_000);
    }

    [SkippableFact]
    public void Train_WithAChampion_ScoresParquetRowsAsItScoresTheTsvsRows()
    {
        // The champion scores rows by column name (its schema may differ from the run's), so it reads the values a
        // Parquet source sets as numbers, not as text: the gate must see the same champion metrics on both.
        DuckDbParquet.SkipUnlessAvailable();
        var tsv = _dir.File("log.tsv");
        SyntheticClickLog.Write(tsv, new SyntheticClickLogOptions { Rows = 6_000, Seed = 11 });
        var parquet = _dir.File("log.parquet");
        DuckDbParquet.CriteoTsvToParquet(tsv, parquet, rowGroupSize: 1_000);
        var trainer = new CtrTrainer(Options.Create(new TrainingOptions()), TimeProvider.System);
        var champion = trainer.TrainAsync(ClickLogSchema.Criteo, [tsv]).GetAwaiter().GetResult().Artifact;

        var onTsv = trainer.TrainAsync(ClickLogSchema.Criteo, [tsv], champion).GetAwaiter().GetResult();
        var onParquet = trainer.TrainAsync(ClickLogSchema.Criteo, [parquet], champion).GetAwaiter().GetResult();

        onParquet.ChampionEvaluation!.Metrics.Should().Be(onTsv.ChampionEvaluation!.Metrics);
        onParquet.ChampionEvaluation.Metrics.Auc.Should().BeGreaterThan(0.6);
    }

    [SkippableTheory]
    [InlineData("not ahead")]
    [InlineData("ahead, by the featurizer")]
    [InlineData("ahead, by another featurizer")]
    public void HashCategoricals_DictionaryAndPlainStrings_HashAsTheirText(string hashing)
    {
        DuckDbParquet.SkipUnlessAvailable();

        // "site": nine values (dictionary pages; non-ASCII among them, and two of eight bytes, one ASCII and one not) and
        // nulls; "user": a value per row (plain pages); "slot": integers hashed as categories, and nulls.
        var path = SmallParquet("hashes.parquet", """
            SELECT (i % 3 = 0)::BIGINT AS click, i AS bid,
                   CASE WHEN i % 11 = 0 THEN NULL ELSE ['a', 'b', 'café', '日本', 'zz', 'a b', 'x', 'ad-12345', 'naïve!!'][i % 9 + 1] END AS site,
                   'u' || (i * 7919) AS "user", CASE WHEN i % 13 = 0 THEN NULL ELSE i % 5 END AS slot
            FROM range(20000) t(i)
            """);
        var schema = ClickLogSchema.Parse("""{ "hasHeader": true, "label": "click", "numeric": ["bid"], "categorical": ["site", "user", "slot"] }""");
        var hasher = new CtrFallback.Features.FeatureHasher(schema.ToFeatureSchema());
        string[] sites = ["a", "b", "café", "日本", "zz", "a b", "x", "ad-12345", "naïve!!"];

        using var reader = new ClickLogReader(schema, [path]);
        if (hashing != "not ahead")
        {
            // The reading thread hashes as it decodes; with another featurizer's hashes in the batch, the rows are hashed again.
            reader.HashCategoricalsAhead(hashing == "ahead, by the featurizer" ? hasher : new CtrFallback.Features.FeatureHasher(schema.ToFeatureSchema()));
        }

        var read = 0;
        var hashes = new uint[3 * 1024];
        for (var rows = reader.ReadRows(); !rows.IsEmpty; rows = reader.ReadRows())
        {
            ClickLogRow.HashCategoricals(hasher, rows, hashes);
            for (var r = 0; r < rows.Length; r++, read++)
            {
                var (site, user, slot) = (read % 11 == 0 ? string.Empty : sites[read % 9], $"u{read * 7919}", read % 13 == 0 ? string.Empty : $"{read % 5}");
                (rows[r].Categorical(0).ToString(), rows[r].Categorical(1).ToString(), rows[r].Categorical(2).ToString()).Should().Be((site, user, slot));
                hashes.AsSpan(3 * r, 3).ToArray().Should().Equal(hasher.HashCategorical(0, site), hasher.HashCategorical(1, user), hasher.HashCategorical(2, slot));
            }
        }

        read.Should().Be(20_000);
    }

    [SkippableFact]
    public void Read_FloatNumbers_AreTheirShortestText_AndANullIsMissing()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = SmallParquet("floats.parquet", "SELECT 1::BIGINT AS click, v::FLOAT AS bid, 'a' AS site FROM (VALUES (0.1), (NULL), (2.5)) t(v)");

        using var reader = new ClickLogReader(Small, [path]);
        var bids = new List<double>();
        while (reader.Read())
        {
            bids.Add(reader.Row.Numeric[0]);
        }

        // 0.1f as a TSV would hold it ("0.1"), not as the double nearest the float (0.100000001490116).
        bids.Should().HaveCount(3);
        (bids[0], double.IsNaN(bids[1]), bids[2]).Should().Be((0.1, true, 2.5));
    }

    [SkippableFact]
    public void Open_AStringColumnNamedAsNumeric_IsASchemaErrorNamingTheColumn()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = SmallParquet("strings.parquet", "SELECT 1::BIGINT AS click, 'cheap' AS bid, 'a' AS site");
        using var reader = new ClickLogReader(Small, [path]);

        var act = () => reader.Read();

        act.Should().Throw<ClickLogSchemaException>().WithMessage($"{path}: column 'bid' is named as numeric*holds strings*");
    }

    [SkippableFact]
    public void Open_AParquetFileWithoutASchemaColumn_IsASchemaErrorNamingIt()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = _dir.File("missing.parquet");
        DuckDbParquet.Execute($"COPY (SELECT 1 AS click, 'a' AS site) TO '{DuckDbParquet.Quote(path)}' (FORMAT parquet)");
        using var reader = new ClickLogReader(Small, [path]);

        var act = () => reader.Read();

        act.Should().Throw<ClickLogSchemaException>().WithMessage($"{path}: unknown column 'bid' (named as numeric)*");
    }

    [SkippableFact]
    public void Read_MalformedParquetRows_AreReportedWithFileRowGroupAndRow()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = SmallParquet("bad.parquet", """
            SELECT CASE WHEN i = 10 THEN NULL WHEN i = 4500 THEN 2 ELSE i % 2 END::BIGINT AS click,
                   CASE WHEN i = 1 THEN NULL ELSE i / 2 END::DOUBLE AS bid,
                   CASE WHEN i = 1 THEN NULL ELSE 's' || (i % 7) END AS site,
                   i AS other
            FROM range(0, 5000) r(i) ORDER BY i
            """);
        using (var file = new ParquetSharp.ParquetFileReader(path))
        {
            // The location must name a row group other than the first for the test to mean anything.
            file.FileMetaData.NumRowGroups.Should().BeGreaterThan(1);
        }

        using var reader = new ClickLogReader(Small, [path]);
        var rows = new List<(bool Label, double Bid, string Site)>();
        while (reader.Read())
        {
            rows.Add((reader.Row.Label, reader.Row.Numeric[0], reader.Row.Categorical(0).ToString()));
        }

        rows.Should().HaveCount(4_998);
        rows[0].Should().Be((false, 0d, "s0"));
        rows[1].Label.Should().BeTrue();
        double.IsNaN(rows[1].Bid).Should().BeTrue();
        rows[1].Site.Should().BeEmpty();
        rows[2].Should().Be((false, 1d, "s2"));
        reader.Malformed.Count.Should().Be(2);
        reader.Malformed.First.Select(m => m.ToString()).Should().Equal(
            $"{path}:11: {Location(path, 10)}: label 'click' is '', not 0 or 1",
            $"{path}:4501: {Location(path, 4500)}: label 'click' is '2', not 0 or 1");
    }

    [SkippableFact]
    public void Read_TimestampDateAndEpochSecondColumns_GiveTheRowsTheirTimesInUtc()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var schema = ClickLogSchema.Parse("""{ "hasHeader": true, "label": "click", "categorical": ["site"], "timestamp": { "column": "ts", "format": "unix" } }""");
        var timestamps = SmallParquet("ts.parquet", """
            SELECT * FROM (VALUES (1::BIGINT, 'a', TIMESTAMP '2026-11-30 13:45:10.123456'), (0, 'b', NULL), (0, 'c', TIMESTAMP '1969-12-31 23:59:59'))
              t(click, site, ts)
            """);
        var dates = SmallParquet("date.parquet", "SELECT 1::BIGINT AS click, 'a' AS site, DATE '2026-11-29' AS ts");

        // Epoch seconds as plain integers: their text, parsed with the schema's format ("unix"), as in a TSV.
        var seconds = SmallParquet("seconds.parquet", """
            SELECT * FROM (VALUES (1::BIGINT, 'a', 1764510310::BIGINT), (0, 'b', NULL), (0, 'c', -1::BIGINT)) t(click, site, ts)
            """);

        Times(schema, timestamps).Should().Equal(
            new DateTimeOffset(2026, 11, 30, 13, 45, 10, TimeSpan.Zero).AddTicks(1_234_560),
            null,
            new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero));
        Times(schema, dates).Should().Equal(new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero));
        Times(schema, seconds).Should().Equal(
            DateTimeOffset.FromUnixTimeSeconds(1764510310), null, new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero));

        static List<DateTimeOffset?> Times(ClickLogSchema schema, string path)
        {
            using var reader = new ClickLogReader(schema, [path]);
            var times = new List<DateTimeOffset?>();
            while (reader.Read())
            {
                times.Add(reader.Row.Timestamp);
            }

            reader.Malformed.Count.Should().Be(0);
            return times;
        }
    }

    [SkippableFact]
    public void Train_WithAWindowOverAParquetTimestampColumn_TrainsOnTheRowsAfterTheNewestTimeLessTheWindow()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var schema = ClickLogSchema.Parse("""{ "hasHeader": true, "label": "click", "numeric": ["bid"], "categorical": ["site"], "timestamp": { "column": "ts", "format": "unix" } }""");

        // Four days of rows, 50 an hour, the newest at 2026-11-30 23:00: a two-day window keeps the 48 hours after 28 November 23:00.
        var path = SmallParquet("week.parquet", """
            SELECT ((hash(i) % 100) < 10 + 10 * (i % 5))::BIGINT AS click, (i % 7)::DOUBLE AS bid, 's' || (i % 5) AS site,
                   TIMESTAMP '2026-11-27 00:00:00' + INTERVAL (i // 50) HOUR AS ts
            FROM range(0, 4 * 24 * 50) r(i) ORDER BY i
            """);

        var result = new CtrTrainer(Options.Create(new TrainingOptions { Window = "2d" }), TimeProvider.System).TrainAsync(schema, [path]).GetAwaiter().GetResult();

        result.Rows.Should().Be(48 * 50);
        result.Parameters["data.window.by"].Should().Be("timestamp");
        result.Parameters["data.window.after"].Should().Be("2026-11-28T23:00:00Z");
        result.Parameters["data.window.outsideRows"].Should().Be("2400");
    }

    [SkippableFact]
    public void Read_NonFiniteDoubles_AreMalformedRowsWithTheirLocation()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = SmallParquet("nan.parquet", """
            SELECT (i % 2)::BIGINT AS click, CASE WHEN i = 3 THEN 'NaN'::DOUBLE WHEN i = 5 THEN 'Infinity'::DOUBLE ELSE i END AS bid, 's' AS site
            FROM range(0, 10) r(i) ORDER BY i
            """);
        using var reader = new ClickLogReader(Small, [path]);
        var rows = 0;
        while (reader.Read())
        {
            rows++;
        }

        rows.Should().Be(8);
        reader.Malformed.First.Select(m => m.ToString()).Should().Equal(
            $"{path}:4: row group 0, row 3: numeric field 'bid' is 'NaN', not a number",
            $"{path}:6: row group 0, row 5: numeric field 'bid' is 'Infinity', not a number");
    }

    [SkippableFact]
    public void Read_ATruncatedParquetFile_IsAnErrorNamingTheFile()
    {
        DuckDbParquet.SkipUnlessAvailable();
        var path = SmallParquet("whole.parquet", "SELECT (i % 2)::BIGINT AS click, i::DOUBLE AS bid, 's' AS site FROM range(0, 1000) r(i)");
        var bytes = File.ReadAllBytes(path);
        var truncated = _dir.File("truncated.parquet");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        using var reader = new ClickLogReader(Small, [truncated]);

        var act = () => reader.Read();

        act.Should().Throw<InvalidDataException>().WithMessage($"{truncated}: not a readable Parquet file*");
    }

    /// <summary>The row group and row of a file's row, from the file's own layout.</summary>
    private static string Location(string path, long fileRow)
    {
        using var file = new ParquetSharp.ParquetFileReader(path);
        for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
        {
            using var group = file.RowGroup(g);
            if (fileRow < group.MetaData.NumRows)
            {
                return $"row group {g}, row {fileRow}";
            }

            fileRow -= group.MetaData.NumRows;
        }

        throw new ArgumentOutOfRangeException(nameof(fileRow));
    }
}
