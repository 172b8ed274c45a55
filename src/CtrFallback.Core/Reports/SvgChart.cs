using System.Globalization;
using System.Text;

namespace CtrFallback.Reports;

/// <summary>
/// A plain inline-SVG chart: linear axes with ticks, lines, points, bars and error bars. Hand-written rather than a
/// plotting library: the reports need a handful of crisp charts, no fonts, no native code and no scripts.
/// </summary>
internal sealed class SvgChart
{
    private const double Left = 56;
    private const double Right = 16;
    private const double Top = 28;
    private const double Bottom = 42;
    private readonly StringBuilder _body = new();
    private readonly List<(string Label, string Color, bool Dashed)> _legend = [];
    private readonly double _width;
    private readonly double _height;
    private readonly double _x0;
    private readonly double _x1;
    private readonly double _y0;
    private readonly double _y1;

    public SvgChart(double width, double height, (double From, double To) x, (double From, double To) y)
    {
        _width = width;
        _height = height;
        (_x0, _x1) = x.To > x.From ? x : (x.From, x.From + 1);
        (_y0, _y1) = y.To > y.From ? y : (y.From, y.From + 1);
    }

    public static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

    public string? Title { get; init; }

    public string? XLabel { get; init; }

    /// <summary>Slants the x tick labels, so that many category labels stay readable side by side.</summary>
    public bool SlantXTicks { get; init; }

    /// <summary>Puts the legend in the lower right corner, for curves that run through the upper right (ROC, reliability).</summary>
    public bool LegendBottomRight { get; init; }

    public string? YLabel { get; init; }

    /// <summary>Formats tick labels; the default prints up to three significant digits.</summary>
    public Func<double, string> XFormat { get; init; } = Short;

    public Func<double, string> YFormat { get; init; } = Short;

    /// <summary>Custom x tick positions (in data units), for example category centres; default: about six round ticks.</summary>
    public IReadOnlyList<(double At, string Label)>? XTicks { get; init; }

    public double PlotWidth => _width - Left - Right;

    public double PlotHeight => _height - Top - Bottom - (SlantXTicks ? 24 : 0);

    public double X(double v) => Left + ((Math.Clamp(v, _x0, _x1) - _x0) / (_x1 - _x0) * PlotWidth);

    public double Y(double v) => Top + PlotHeight - ((Math.Clamp(v, _y0, _y1) - _y0) / (_y1 - _y0) * PlotHeight);

    public SvgChart Line(IEnumerable<(double X, double Y)> points, string color, string? label = null, bool dashed = false, double width = 2)
    {
        var path = string.Join(' ', points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).Select(p => F($"{X(p.X):0.#},{Y(p.Y):0.#}")));
        if (path.Length > 0)
        {
            _body.Append(F($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\"{(dashed ? " stroke-dasharray=\"5,4\"" : string.Empty)} points=\"{path}\"/>"));
        }

        if (label is not null)
        {
            _legend.Add((label, color, dashed));
        }

        return this;
    }

    public SvgChart Points(IEnumerable<(double X, double Y)> points, string color, double radius = 3.5, string? label = null)
    {
        foreach (var (x, y) in points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
        {
            _body.Append(F($"<circle cx=\"{X(x):0.#}\" cy=\"{Y(y):0.#}\" r=\"{radius}\" fill=\"{color}\"/>"));
        }

        if (label is not null)
        {
            _legend.Add((label, color, false));
        }

        return this;
    }

    /// <summary>A vertical bar from the baseline (or <paramref name="from"/>) up to <paramref name="to"/>, between x and x + width.</summary>
    public SvgChart Bar(double x, double barWidth, double to, string color, double from = double.NaN, string? tooltip = null, double opacity = 1)
    {
        var baseline = double.IsNaN(from) ? _y0 : from;
        var top = Math.Min(Y(to), Y(baseline));
        var height = Math.Abs(Y(to) - Y(baseline));
        _body.Append(F($"<rect x=\"{X(x):0.##}\" y=\"{top:0.##}\" width=\"{Math.Max(0.5, X(x + barWidth) - X(x)):0.##}\" height=\"{height:0.##}\" fill=\"{color}\" fill-opacity=\"{opacity}\">"));
        if (tooltip is not null)
        {
            _body.Append("<title>").Append(HtmlPage.Encode(tooltip)).Append("</title>");
        }

        _body.Append("</rect>");
        return this;
    }

    public SvgChart ErrorBar(double x, double low, double high, string color)
    {
        if (double.IsFinite(low) && double.IsFinite(high))
        {
            var cx = X(x);
            _body.Append(F($"<path d=\"M{cx:0.#},{Y(low):0.#}V{Y(high):0.#}M{cx - 3:0.#},{Y(low):0.#}h6M{cx - 3:0.#},{Y(high):0.#}h6\" stroke=\"{color}\" stroke-width=\"1.3\" fill=\"none\"/>"));
        }

        return this;
    }

    public SvgChart HorizontalRule(double y, string color, string? label = null)
    {
        _body.Append(F($"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{Y(y):0.#}\" y2=\"{Y(y):0.#}\" stroke=\"{color}\" stroke-dasharray=\"4,3\"/>"));
        if (label is not null)
        {
            _legend.Add((label, color, true));
        }

        return this;
    }

    public SvgChart LegendEntry(string label, string color)
    {
        _legend.Add((label, color, false));
        return this;
    }

    public override string ToString()
    {
        var svg = new StringBuilder();
        svg.Append(F($"<svg class=\"chart\" width=\"{_width}\" height=\"{_height}\" viewBox=\"0 0 {_width} {_height}\" font-family=\"sans-serif\" font-size=\"11\">"));
        svg.Append(F($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{PlotWidth}\" height=\"{PlotHeight}\" fill=\"#fafafa\" stroke=\"#bbb\"/>"));
        foreach (var (at, label) in YTicks())
        {
            svg.Append(F($"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{Y(at):0.#}\" y2=\"{Y(at):0.#}\" stroke=\"#e4e4e4\"/>"));
            svg.Append(F($"<text x=\"{Left - 4}\" y=\"{Y(at) + 4:0.#}\" text-anchor=\"end\" fill=\"#444\">{Encode(label)}</text>"));
        }

        foreach (var (at, label) in XTicks ?? Ticks(_x0, _x1).Select(t => (t, XFormat(t))).ToArray())
        {
            svg.Append(F($"<line x1=\"{X(at):0.#}\" x2=\"{X(at):0.#}\" y1=\"{Top + PlotHeight}\" y2=\"{Top + PlotHeight + 4}\" stroke=\"#888\"/>"));
            svg.Append(SlantXTicks
                ? F($"<text transform=\"translate({X(at) + 3:0.#},{Top + PlotHeight + 12}) rotate(-30)\" text-anchor=\"end\" fill=\"#444\">{Encode(label)}</text>")
                : F($"<text x=\"{X(at):0.#}\" y=\"{Top + PlotHeight + 16}\" text-anchor=\"middle\" fill=\"#444\">{Encode(label)}</text>"));
        }

        svg.Append(_body);
        if (Title is not null)
        {
            svg.Append(F($"<text x=\"{Left}\" y=\"17\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">{Encode(Title)}</text>"));
        }

        if (XLabel is not null)
        {
            svg.Append(F($"<text x=\"{Left + (PlotWidth / 2)}\" y=\"{_height - 6}\" text-anchor=\"middle\" fill=\"#222\">{Encode(XLabel)}</text>"));
        }

        if (YLabel is not null)
        {
            svg.Append(F($"<text transform=\"translate(13,{Top + (PlotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">{Encode(YLabel)}</text>"));
        }

        for (var i = 0; i < _legend.Count; i++)
        {
            var (label, color, dashed) = _legend[i];
            var y = LegendBottomRight ? Top + PlotHeight - 8 - ((_legend.Count - 1 - i) * 15) : Top + 12 + (i * 15);
            var x = Left + PlotWidth - 150;
            svg.Append(F($"<line x1=\"{x}\" x2=\"{x + 18}\" y1=\"{y - 4}\" y2=\"{y - 4}\" stroke=\"{color}\" stroke-width=\"3\"{(dashed ? " stroke-dasharray=\"4,3\"" : string.Empty)}/>"));
            svg.Append(F($"<text x=\"{x + 23}\" y=\"{y}\" fill=\"#222\">{Encode(label)}</text>"));
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>About six round tick positions between two values (1, 2 or 5 times a power of ten apart).</summary>
    public static IEnumerable<double> Ticks(double from, double to)
    {
        var span = to - from;
        if (!(span > 0) || !double.IsFinite(span))
        {
            yield return from;
            yield break;
        }

        var raw = span / 6;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 5, 10 }.Select(s => s * magnitude).First(s => s >= raw);
        for (var t = Math.Ceiling(from / step) * step; t <= to + (step * 1e-9); t += step)
        {
            yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
        }
    }

    public static string Short(double v) => Math.Abs(v) switch
    {
        >= 1e7 => v.ToString("0.##e0", CultureInfo.InvariantCulture),
        >= 1000 => v.ToString("N0", CultureInfo.InvariantCulture),
        < 1e-3 when v != 0 => v.ToString("0.##e0", CultureInfo.InvariantCulture),
        _ => v.ToString("G3", CultureInfo.InvariantCulture),
    };

    public static string Percent(double v) => v.ToString("0.#%", CultureInfo.InvariantCulture);

    private IEnumerable<(double At, string Label)> YTicks() => Ticks(_y0, _y1).Select(t => (t, YFormat(t)));

    private static string Encode(string text) => HtmlPage.Encode(text);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
