using System.Globalization;
using System.Text;

namespace CtrFallback.Reports;

/// <summary>
/// A self-contained HTML page: inline CSS, inline SVG, no scripts and no external references, so it can be opened
/// offline, attached to a model version, or mailed.
/// </summary>
internal sealed class HtmlPage
{
    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1320px;color:#222;line-height:1.4;padding:0 16px}
        h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
        h3{font-size:15px;margin:18px 0 6px}p.note,li.note{color:#555;font-size:13px}
        table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}
        th{background:#f2f2f2}td.l,th.l{text-align:left}tr.hi td{background:#fff6d6}
        .pass{color:#13751d;font-weight:bold}.fail{color:#b3261e;font-weight:bold}
        .row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
        .field{border:1px solid #e3e3e3;border-radius:6px;padding:8px 12px;margin:10px 0}
        code{background:#f4f4f4;padding:0 3px;border-radius:3px}
        """;

    private readonly StringBuilder _body = new();

    public HtmlPage Heading(int level, string text) => Raw($"<h{level}>{Encode(text)}</h{level}>");

    public HtmlPage Paragraph(string text, string? cssClass = null) =>
        Raw(cssClass is null ? $"<p>{Encode(text)}</p>" : $"<p class=\"{cssClass}\">{Encode(text)}</p>");

    public HtmlPage List(IEnumerable<string> items, string? cssClass = null)
    {
        _body.Append("<ul>");
        foreach (var item in items)
        {
            _body.Append(cssClass is null ? "<li>" : $"<li class=\"{cssClass}\">").Append(Encode(item)).Append("</li>");
        }

        _body.Append("</ul>");
        return this;
    }

    /// <summary>A table of encoded text; text columns are left-aligned, number columns right-aligned, headers with them.</summary>
    public HtmlPage Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, Func<int, bool>? highlight = null)
    {
        var body = rows.ToArray();
        var left = new bool[header.Count];
        for (var i = 0; i < left.Length; i++)
        {
            left[i] = i == 0 || (body.Length > 0 && i < body[0].Count && IsText(body[0][i]));
        }

        _body.Append("<table><tr>");
        for (var i = 0; i < header.Count; i++)
        {
            _body.Append(left[i] ? "<th class=\"l\">" : "<th>").Append(Encode(header[i])).Append("</th>");
        }

        _body.Append("</tr>");
        for (var r = 0; r < body.Length; r++)
        {
            _body.Append(highlight?.Invoke(r) == true ? "<tr class=\"hi\">" : "<tr>");
            for (var i = 0; i < body[r].Count; i++)
            {
                _body.Append(i < left.Length && left[i] ? "<td class=\"l\">" : "<td>").Append(Encode(body[r][i])).Append("</td>");
            }

            _body.Append("</tr>");
        }

        _body.Append("</table>");
        return this;

        // Sentences read best left-aligned; numbers, percentages and short codes right-aligned.
        static bool IsText(string cell) => cell.Length > 0 && char.IsLetter(cell[0]) && cell.Contains(' ', StringComparison.Ordinal);
    }

    public HtmlPage Raw(string html)
    {
        _body.Append(html);
        return this;
    }

    public string Render(string title) =>
        $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{Encode(title)}</title><style>{Style}</style></head><body>{_body}</body></html>";

    /// <summary>Escapes the five markup characters only, so text such as × or ≈ stays readable in the source.</summary>
    public static string Encode(string text) => text
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&quot;", StringComparison.Ordinal)
        .Replace("'", "&#39;", StringComparison.Ordinal);

    public static string N(double v, string format) => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A signed number rounded first, so a tiny negative value prints as 0 rather than "-+0.0000".</summary>
    public static string Signed(double v, int decimals)
    {
        if (double.IsNaN(v))
        {
            return "–";
        }

        var rounded = Math.Round(v, decimals);
        var digits = "0." + new string('0', decimals);
        return rounded == 0 ? "0" : rounded.ToString("+" + digits + ";-" + digits, CultureInfo.InvariantCulture);
    }

    public static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
