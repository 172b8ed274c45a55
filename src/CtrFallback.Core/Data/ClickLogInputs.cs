using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.FileSystemGlobbing.Abstractions;

namespace CtrFallback.Data;

/// <summary>One click-log file to read, with the Hive-style partition it sits in, if any.</summary>
/// <param name="Path">The file.</param>
/// <param name="Partition">The start of its partition (<c>dt=YYYY-MM-DD</c>, optionally <c>hour=HH</c>), UTC.</param>
/// <param name="PartitionLength">One day, or one hour for an hourly partition; zero without a partition.</param>
internal sealed record ClickLogInput(string Path, DateTimeOffset? Partition, TimeSpan PartitionLength);

/// <summary>
/// Turns what a host names as data (files, folders, globs) into the files to read, in time order, and applies the
/// rolling window (<c>Training:Window</c>) by partition date.
/// </summary>
internal static partial class ClickLogInputs
{
    /// <summary>Expands files, folders (every file below, recursively) and globs (<c>*</c>, <c>**</c>, <c>?</c>).</summary>
    /// <remarks>
    /// Files Spark, Flink and Hadoop write beside the data (<c>_SUCCESS</c>, <c>.part-0.crc</c>) are left out of folders
    /// and globs: names starting with <c>_</c> or <c>.</c>. Files in partitions come in partition order, the rest in the
    /// order given (each folder or glob in ordinal path order).
    /// </remarks>
    /// <exception cref="FileNotFoundException">A name matches no file.</exception>
    public static IReadOnlyList<ClickLogInput> Resolve(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new List<ClickLogInput>();
        foreach (var name in names)
        {
            var matched = Expand(name);
            if (matched.Count == 0)
            {
                throw new FileNotFoundException($"Click log '{name}' does not exist or matches no file.", name);
            }

            foreach (var path in matched)
            {
                if (seen.Add(System.IO.Path.GetFullPath(path)))
                {
                    var (start, length) = PartitionOf(path);
                    inputs.Add(new ClickLogInput(path, start, length));
                }
            }
        }

        // Stable: files of one partition keep their order; unpartitioned files keep the order given.
        return inputs.Any(i => i.Partition is not null)
            ? inputs.OrderBy(i => i.Partition ?? DateTimeOffset.MinValue).ToArray()
            : inputs;
    }

    /// <summary>Keeps the partitions within <paramref name="window"/> of the newest partition's end.</summary>
    /// <exception cref="InvalidDataException">A file is not in a partition.</exception>
    public static IReadOnlyList<ClickLogInput> Window(IReadOnlyList<ClickLogInput> inputs, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.FirstOrDefault(i => i.Partition is null) is { } loose)
        {
            // Without any partition, training windows by the schema's timestamp instead (CtrTrainer); a mix is ambiguous.
            throw new InvalidDataException(
                $"Training:Window needs Hive-style partition folders (dt=YYYY-MM-DD, optionally hour=HH) around every file, or none around any and a schema timestamp field; '{loose.Path}' is in none.");
        }

        var end = inputs.Max(i => i.Partition!.Value + i.PartitionLength);
        var from = end - window;
        return inputs.Where(i => i.Partition!.Value >= from).ToArray();
    }

    /// <summary>Parses a window such as <c>7d</c> or <c>36h</c>.</summary>
    /// <exception cref="ArgumentException">The text is not a positive count of days or hours.</exception>
    public static TimeSpan ParseWindow(string text, string option = "Training:Window")
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.Length >= 2 && int.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (char.ToLowerInvariant(t[^1]))
            {
                case 'd':
                    return TimeSpan.FromDays(n);
                case 'h':
                    return TimeSpan.FromHours(n);
            }
        }

        throw new ArgumentException($"{option} must be a positive number of days or hours such as '7d' or '36h', got '{text}'.", option);
    }

    private static List<string> Expand(string name)
    {
        if (File.Exists(name))
        {
            return [name];
        }

        if (Directory.Exists(name))
        {
            return Directory.EnumerateFiles(name, "*", SearchOption.AllDirectories)
                .Where(p => IsData(p, name))
                .Order(StringComparer.Ordinal)
                .ToList();
        }

        if (name.IndexOfAny(['*', '?']) < 0)
        {
            return [];
        }

        // The glob's root is the folder before its first wildcard segment.
        var separators = new[] { '/', System.IO.Path.DirectorySeparatorChar };
        var wildcard = name.IndexOfAny(['*', '?']);
        var cut = name.LastIndexOfAny(separators, wildcard);
        var root = cut < 0 ? "." : cut == 0 ? "/" : name[..cut];
        var pattern = cut < 0 ? name : name[(cut + 1)..];
        if (!Directory.Exists(root))
        {
            return [];
        }

        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(pattern);
        return matcher.Execute(new DirectoryInfoWrapper(new DirectoryInfo(root))).Files
            .Select(f => cut < 0 ? f.Path : System.IO.Path.Join(root, f.Path))
            .Where(p => IsData(p, root))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static bool IsData(string path, string root)
    {
        foreach (var segment in System.IO.Path.GetRelativePath(root, path).Split(['/', System.IO.Path.DirectorySeparatorChar]))
        {
            if (segment.StartsWith('_') || segment.StartsWith('.'))
            {
                return false;
            }
        }

        return true;
    }

    private static (DateTimeOffset? Start, TimeSpan Length) PartitionOf(string path)
    {
        DateTimeOffset? day = null;
        var hour = -1;
        foreach (var segment in path.Split(['/', System.IO.Path.DirectorySeparatorChar]))
        {
            var m = PartitionSegment().Match(segment);
            if (!m.Success)
            {
                continue;
            }

            if (m.Groups["dt"].Success)
            {
                day = DateTimeOffset.TryParseExact(m.Groups["dt"].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;
            }
            else
            {
                hour = int.Parse(m.Groups["hour"].Value, CultureInfo.InvariantCulture);
            }
        }

        return day is null ? (null, TimeSpan.Zero)
            : hour is >= 0 and < 24 ? (day.Value.AddHours(hour), TimeSpan.FromHours(1))
            : (day, TimeSpan.FromDays(1));
    }

    [GeneratedRegex(@"^(?:(?:dt|date)=(?<dt>\d{4}-\d{2}-\d{2})|hour=(?<hour>\d{1,2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex PartitionSegment();
}
