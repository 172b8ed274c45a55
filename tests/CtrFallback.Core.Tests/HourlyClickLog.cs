using CtrFallback.Data;
namespace CtrFallback.Tests;

/// <summary>A small comma-separated click log with an hour column (yyMMddHH), one site field and one count.</summary>
internal static class HourlyClickLog
{
    public static ClickLogSchema Schema { get; } = ClickLogSchema.Parse("""
        { "separator": ",", "hasHeader": true, "label": "click", "categorical": ["site"], "numeric": ["n"],
          "timestamp": { "column": "hour", "format": "yyMMddHH" }, "hashBits": 12 }
        """);

    /// <summary>The log's text: for each hour in the order given, that many rows; site s clicks with probability 0.1 + 0.1 s.</summary>
    public static string Text(Random random, IEnumerable<string> hours, int rowsPerHour)
    {
        var rows = new List<string> { "hour,click,site,n" };
        foreach (var hour in hours)
        {
            for (var i = 0; i < rowsPerHour; i++)
            {
                var site = random.Next(5);
                rows.Add($"{hour},{(random.NextDouble() < 0.1 + (0.1 * site) ? 1 : 0)},s{site},{random.Next(10)}");
            }
        }

        return string.Join('\n', rows);
    }
}
