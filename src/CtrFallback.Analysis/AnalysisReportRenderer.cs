using System.Globalization;
using CtrFallback.Reports;

namespace CtrFallback.Analysis;

/// <summary>Renders a <see cref="ClickLogAnalysis"/> as one self-contained HTML page.</summary>
internal static class AnalysisReportRenderer
{
    private const int CrossRows = 25;

    /// <summary>A gain this many standard errors above zero stands out from the chance best of a few hundred pairs.</summary>
    private const double SignificantZ = 3;

    /// <summary>Renders the analysis; with a suggestion, also the triples its beam search scored and the crosses it chose.</summary>
    public static string Render(ClickLogAnalysis a, SchemaSuggestion? suggestion = null)
    {
        var page = new HtmlPage();
        page.Heading(1, "Click-log analysis");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"{a.Rows:N0} rows, {a.Clicks:N0} clicks (CTR {a.Ctr:P2}), {a.MalformedRows:N0} malformed rows skipped; {a.Fields.Count} fields; analysed in {a.Elapsed.TotalSeconds:F1} s ({string.Join(", ", a.Stages.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value.TotalSeconds:F1} s")))})."));
        page.Paragraph("Files: " + string.Join(", ", a.Files.Select(Path.GetFileName)), "note");
        if (a.MalformedExamples.Count > 0)
        {
            page.List(a.MalformedExamples.Select(m => m.ToString()), "note");
        }

        page.Heading(2, "How these numbers were measured");
        page.List(a.Method, "note");

        Crosses(page, a);
        if (suggestion is not null)
        {
            Suggestion(page, suggestion);
        }

        Hashing(page, a);
        Overview(page, a);
        page.Heading(2, "Fields");
        foreach (var field in a.Fields)
        {
            page.Raw($"<div class=\"field\" id=\"field-{HtmlPage.Encode(field.Name)}\">");
            if (field.Kind == FieldKind.Categorical)
            {
                Categorical(page, field, a);
            }
            else
            {
                Numeric(page, field, a);
            }

            page.Raw("</div>");
        }

        return page.Render("Click-log analysis");
    }

    private static void Crosses(HtmlPage page, ClickLogAnalysis a)
    {
        page.Raw("<h2 id=\"crosses\">Cross candidates</h2>");
        page.Paragraph("Pairs of categorical fields ranked by what a smoothed target encoding of the pair adds, on held-out rows, over a logistic model of the two fields alone. A positive NE gain means the pair carries an interaction neither field shows; gains near zero (or negative) mean the pair adds nothing the additive model lacks. Put the top pairs with a clear gain into the schema's crosses. z is the gain in standard errors of the paired per-row log-loss difference; with this many pairs, the best of them reaches z ≈ 3 by chance alone, so only highlighted rows (z ≥ 3) stand out from noise.", "note");
        var top = a.CrossCandidates.Take(CrossRows).ToArray();
        if (top.Length == 0)
        {
            page.Paragraph("No pair was scored.");
        }
        else
        {
            var max = Math.Max(top.Max(c => c.NeGain), 1e-6);
            var min = Math.Min(0, top.Min(c => c.NeGain));
            var chart = new SvgChart(Math.Max(480, 34 * top.Length + 80), 260, (0, top.Length), (min, max * 1.1))
            {
                Title = "Held-out NE gain of each cross (ranked)",
                YLabel = "NE gain",
                XLabel = "rank",
                XTicks = top.Select((_, i) => (i + 0.5, (i + 1).ToString(CultureInfo.InvariantCulture))).ToArray(),
            };
            for (var i = 0; i < top.Length; i++)
            {
                chart.Bar(i + 0.15, 0.7, top[i].NeGain, top[i].InSchema ? SvgChart.Palette[2] : SvgChart.Palette[0], from: 0, tooltip: Name(top[i]));
            }

            chart.LegendEntry("already in schema", SvgChart.Palette[2]).LegendEntry("candidate", SvgChart.Palette[0]);
            page.Raw(chart.ToString());
            CrossTable(page, top, "value pairs", "NE additive → cross", "AUC additive → cross", c => c.Z >= SignificantZ);
            page.Paragraph(string.Create(CultureInfo.InvariantCulture, $"{a.CrossCandidates.Count:N0} pairs scored; the best {top.Length} shown."), "note");
        }

        if (a.CrossSkipped.Count > 0)
        {
            page.Heading(3, "Not scored");
            page.List(a.CrossSkipped, "note");
        }
    }

    private static void Suggestion(HtmlPage page, SchemaSuggestion s)
    {
        page.Raw("<h2 id=\"suggestion\">Suggested crosses</h2>");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"{s.AddedCrosses.Count} cross(es) added to the schema's {s.KeptCrosses.Count}: {(s.AddedCrosses.Count == 0 ? "none" : string.Join(", ", s.AddedCrosses.Select(c => $"{Name(c)} (z {c.Z:0.0})")))}. The bar is z ≥ {s.RequiredZ:0.00}: {s.CandidatesTested:N0} candidates scored ({s.Analysis.CrossCandidates.Count:N0} pairs, {s.TripleCandidates.Count:N0} triples), false-cross rate {s.Options.FalseCrossRate?.ToString(CultureInfo.InvariantCulture) ?? "off"}, at least {s.Options.MinZ.ToString(CultureInfo.InvariantCulture)}."));
        page.Heading(3, "Triples (beam search)");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"The best {s.Options.BeamWidth} pairs that clear the bar (counted with the triples they lead to) are each extended by every other crossable field. A triple's gain is what a smoothed encoding of its value triples adds, on held-out rows, over a model that already holds its three pairs: a strong pair does not make its triples look strong. Highlighted rows were added."), "note");
        if (s.TripleCandidates.Count == 0)
        {
            page.Paragraph("No triple was scored: no pair cleared the bar.");
            return;
        }

        var top = s.TripleCandidates.Take(CrossRows).ToArray();
        CrossTable(page, top, "value triples", "NE pairs → triple", "AUC pairs → triple", c => s.AddedCrosses.Contains(c));
        page.Paragraph(string.Create(CultureInfo.InvariantCulture, $"{s.TripleCandidates.Count:N0} triples scored; the best {top.Length} shown."), "note");
    }

    private static void CrossTable(HtmlPage page, CrossCandidate[] rows, string cells, string ne, string auc, Func<CrossCandidate, bool> highlight) =>
        page.Table(
            ["rank", "cross", cells, "NE gain", "z", ne, "AUC gain", auc, "in schema"],
            rows.Select((c, i) => (IReadOnlyList<string>)
            [
                (i + 1).ToString(CultureInfo.InvariantCulture),
                Name(c),
                HtmlPage.N(c.Cells),
                HtmlPage.Signed(c.NeGain, 5),
                HtmlPage.N(c.Z, "0.0"),
                $"{HtmlPage.N(c.AdditiveNe, "0.0000")} → {HtmlPage.N(c.CrossNe, "0.0000")}",
                HtmlPage.Signed(c.AucGain, 4),
                $"{HtmlPage.N(c.AdditiveAuc, "0.0000")} → {HtmlPage.N(c.CrossAuc, "0.0000")}",
                c.InSchema ? "yes" : string.Empty,
            ]),
            i => highlight(rows[i]));

    private static string Name(CrossCandidate c) => string.Join(" × ", c.ToCross().Fields);

    private static void Hashing(HtmlPage page, ClickLogAnalysis a)
    {
        var h = a.Hashing;
        page.Heading(2, "Hashing collisions");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"About {h.DistinctFeatures:N0} distinct features would be hashed (field values including each field's empty value, numeric buckets, and the schema's {a.Schema.Crosses.Count} crosses). With {h.HashBits} hash bits ({1L << h.HashBits:N0} weights), an expected {h.CollidingShare:P1} of them share their weight with at least one other feature."));
        page.Paragraph("Share = 1 − (1 − 2^−b)^(D−1) for D distinct features, assuming a uniform hash; it counts distinct features, not impressions: rare values collide as often as frequent ones but matter less. Crosses added later add their own distinct pairs.", "note");
        page.Table(
            ["hash bits", "weights", "memory (float weights)", "colliding share"],
            h.ByHashBits.Select(kv => (IReadOnlyList<string>)
            [
                kv.Key.ToString(CultureInfo.InvariantCulture),
                HtmlPage.N(1L << kv.Key),
                string.Create(CultureInfo.InvariantCulture, $"{(4L << kv.Key) / 1048576.0:0.#} MB"),
                kv.Value.ToString("P2", CultureInfo.InvariantCulture),
            ]),
            i => h.ByHashBits[i].Key == h.HashBits);
    }

    private static void Overview(HtmlPage page, ClickLogAnalysis a)
    {
        page.Heading(2, "Fields at a glance");
        page.Paragraph("Sorted by held-out NE gain (information gain). In-sample AUC scores rows by their own values' CTRs and flatters fields with many rare values; compare it with the held-out AUC.", "note");
        page.Table(
            ["field", "kind", "missing", "distinct", "in sample", "in-sample AUC", "held-out AUC", "held-out NE gain"],
            a.Fields.OrderByDescending(f => f.HeldOutNeGain).Select(f => (IReadOnlyList<string>)
            [
                f.Name,
                f.Kind == FieldKind.Categorical ? "categorical" : "numeric",
                f.MissingShare.ToString("P1", CultureInfo.InvariantCulture),
                Distinct(f),
                HtmlPage.N(f.SampleDistinct),
                HtmlPage.N(f.InSampleAuc, "0.000"),
                HtmlPage.N(f.HeldOutAuc, "0.000"),
                HtmlPage.Signed(f.HeldOutNeGain, 4),
            ]));
    }

    private static void Categorical(HtmlPage page, FieldAnalysis f, ClickLogAnalysis a)
    {
        page.Heading(3, $"{f.Name} (categorical)");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"missing {f.MissingShare:P1} · distinct {Distinct(f)} · in-sample AUC {f.InSampleAuc:0.000} · held-out AUC {f.HeldOutAuc:0.000} · held-out NE gain {HtmlPage.Signed(f.HeldOutNeGain, 4)}"));
        var values = f.TopValues.ToList();
        if (f.MissingStatistics is { } m)
        {
            values.Add(m);
        }

        page.Raw("<div class=\"row\">");
        page.Raw(CtrChart(values, a.Ctr, $"CTR of the top values of {f.Name}, 95% Wilson intervals"));
        page.Table(
            ["value", "rows", "share", "CTR", "95% interval"],
            values.Select(v => (IReadOnlyList<string>)
            [
                v.Value,
                HtmlPage.N(v.Rows),
                ((double)v.Rows / a.Rows).ToString("P1", CultureInfo.InvariantCulture),
                v.Ctr.ToString("P2", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{v.CtrLow:P1} – {v.CtrHigh:P1}"),
            ]));
        page.Raw("</div>");
        if (f.TopValueUndercountBound > 0)
        {
            page.Paragraph(string.Create(CultureInfo.InvariantCulture, $"Counted approximately (rare values pruned): each count may be low by at most {f.TopValueUndercountBound:N0} row(s)."), "note");
        }
    }

    private static void Numeric(HtmlPage page, FieldAnalysis f, ClickLogAnalysis a)
    {
        var s = f.Numeric!;
        page.Heading(3, $"{f.Name} (numeric)");
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"missing {f.MissingShare:P1} · distinct {Distinct(f)} · min {SvgChart.Short(s.Min)} · mean {SvgChart.Short(s.Mean)} · max {SvgChart.Short(s.Max)} · in-sample AUC {f.InSampleAuc:0.000} · held-out AUC {f.HeldOutAuc:0.000} · held-out NE gain {HtmlPage.Signed(f.HeldOutNeGain, 4)}"));
        page.Raw("<div class=\"row\">");
        if (s.Histogram.Count > 0)
        {
            var lo = Log(s.Histogram[0].From);
            var hi = Log(s.Histogram[^1].To);
            var chart = new SvgChart(420, 230, (lo, hi), (0, s.Histogram.Max(b => b.Rows) * 1.1))
            {
                Title = $"Distribution of {f.Name} (sample, log scale)",
                XLabel = "value (axis: sign·ln(1+|x|))",
                YLabel = "rows",
                XFormat = v => SvgChart.Short(Math.Round(v >= 0 ? double.ExpM1(v) : -double.ExpM1(-v))),
            };
            foreach (var bin in s.Histogram)
            {
                chart.Bar(Log(bin.From), Log(bin.To) - Log(bin.From), bin.Rows, SvgChart.Palette[0], tooltip: string.Create(CultureInfo.InvariantCulture, $"{bin.From:G4} to {bin.To:G4}: {bin.Rows:N0} rows"), opacity: 0.8);
            }

            page.Raw(chart.ToString());
        }

        // Every bucket here, the empty one included, counts sample rows; the header above counts every row.
        var buckets = s.QuantileBuckets;

        page.Raw(CtrChart(buckets, a.Ctr, $"CTR by quantile bucket of {f.Name}"));
        page.Table(
            ["bucket", "sample rows", "CTR", "95% interval"],
            buckets.Select(v => (IReadOnlyList<string>)
            [
                v.Value,
                HtmlPage.N(v.Rows),
                v.Ctr.ToString("P2", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{v.CtrLow:P1} – {v.CtrHigh:P1}"),
            ]));
        page.Raw("</div>");

        static double Log(double x) => Features.FeatureHasher.SignedLog(x);
    }

    /// <summary>CTR per value (or bucket) as points with Wilson intervals, against the base rate.</summary>
    private static string CtrChart(IReadOnlyList<ValueStatistics> values, double baseCtr, string title)
    {
        if (values.Count == 0)
        {
            return string.Empty;
        }

        var top = Math.Min(1, Math.Max(values.Max(v => v.CtrHigh), baseCtr) * 1.1);
        var chart = new SvgChart(Math.Max(380, 34 * values.Count + 90), 250, (0, values.Count), (0, top))
        {
            Title = title,
            SlantXTicks = true,
            LegendBottomRight = true,
            YLabel = "CTR",
            YFormat = SvgChart.Percent,
            XTicks = values.Select((v, i) => (i + 0.5, Shorten(v.Value))).ToArray(),
        };
        chart.HorizontalRule(baseCtr, "#888", "overall CTR");
        for (var i = 0; i < values.Count; i++)
        {
            chart.ErrorBar(i + 0.5, values[i].CtrLow, values[i].CtrHigh, SvgChart.Palette[0]);
        }

        chart.Points(values.Select((v, i) => (i + 0.5, v.Ctr)), SvgChart.Palette[1], label: "CTR, 95% interval");
        return chart.ToString();

        static string Shorten(string s) => s.Length <= 10 ? s : s[..9] + "…";
    }

    private static string Distinct(FieldAnalysis f) =>
        (f.DistinctIsExact ? string.Empty : "≈") + f.Distinct.ToString("N0", CultureInfo.InvariantCulture);
}
