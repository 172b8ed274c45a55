using System.Text.RegularExpressions;

namespace CtrFallback.Tests;

/// <summary>
/// docs/fault-matrix.md names a test in every cell; this keeps those names true, so that the table cannot drift from
/// the tests that run in CI (a renamed or deleted test fails here).
/// </summary>
public sealed partial class FaultMatrixDocumentTests
{
    [Fact]
    public void EveryTestTheFaultMatrixNames_ExistsInTheTests()
    {
        var root = RepositoryRoot();
        var table = File.ReadAllLines(Path.Combine(root, "docs", "fault-matrix.md")).Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToList();
        var sources = Directory.EnumerateFiles(Path.Combine(root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToList();

        var named = table.SelectMany(row => TestName().Matches(row.Split('|', StringSplitOptions.TrimEntries)[^2]))
            .Select(m => (Class: m.Groups["class"].Value, Method: m.Groups["method"].Value))
            .ToList();
        var missing = named.Where(n => !Declares(sources, n.Class, n.Method)).Select(n => $"{n.Class}.{n.Method}").ToList();

        named.Should().HaveCountGreaterThan(50, "every row of the table names its test");
        table.Where(row => !row.StartsWith("|---", StringComparison.Ordinal) && !row.StartsWith("| Call", StringComparison.Ordinal))
            .Should().OnlyContain(row => TestName().IsMatch(row), "every row names a test");
        missing.Should().BeEmpty("the fault matrix must name tests that exist");
    }

    /// <summary>Whether the class, or a class it derives from, declares the method.</summary>
    private static bool Declares(List<string> sources, string className, string method)
    {
        var declaration = new Regex($@"class {Regex.Escape(className)}\b(?<rest>[^{{]*)");
        foreach (var source in sources)
        {
            var match = declaration.Match(source);
            if (!match.Success)
            {
                continue;
            }

            if (Regex.IsMatch(source, $@"\b(Task|void) {Regex.Escape(method)}\("))
            {
                return true;
            }

            var baseClass = Regex.Match(match.Groups["rest"].Value, @":\s*(?<base>\w+)");
            if (baseClass.Success && baseClass.Groups["base"].Value != className && Declares(sources, baseClass.Groups["base"].Value, method))
            {
                return true;
            }
        }

        return false;
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CtrFallback.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No CtrFallback.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"`(?<class>[A-Z]\w+Tests)\.(?<method>[A-Z]\w+)`")]
    private static partial Regex TestName();
}
