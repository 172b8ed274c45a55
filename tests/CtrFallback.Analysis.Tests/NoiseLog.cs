using System.Globalization;
using System.Text;
using CtrFallback.Analysis;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>A 20,000-row log whose labels are independent of its six categorical fields (3 to 2,000 values each).</summary>
internal static class NoiseLog
{
    public static async Task<ClickLogAnalysis> AnalyzeAsync(int seed)
    {
        using var directory = new TempDirectory();
        var schema = directory.Write("schema.json", """
            { "separator": ",", "hasHeader": true, "label": "click", "categorical": ["a", "b", "c", "d", "e", "f"] }
            """);
        var random = new Random(seed);
        var log = new StringBuilder("click,a,b,c,d,e,f\n");
        for (var i = 0; i < 20_000; i++)
        {
            log.Append(random.NextDouble() < 0.2 ? '1' : '0');
            foreach (var values in (int[])[3, 5, 20, 50, 300, 2_000])
            {
                log.Append(CultureInfo.InvariantCulture, $",v{random.Next(values)}");
            }

            log.Append('\n');
        }

        return await ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Load(schema), [directory.Write("noise.csv", log.ToString())]);
    }
}
