using k8s;
using k8s.Models;

namespace CtrFallback.Tests;

/// <summary>The <c>argoproj.io/v1alpha1</c> Rollout fields the samples use, typed so strict YAML loading catches typos.</summary>
internal sealed class Rollout : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = string.Empty;

    public string Kind { get; set; } = string.Empty;

    public V1ObjectMeta Metadata { get; set; } = new();

    public RolloutSpec Spec { get; set; } = new();
}

internal sealed class RolloutSpec
{
    public int? Replicas { get; set; }

    public int? RevisionHistoryLimit { get; set; }

    public V1LabelSelector Selector { get; set; } = new();

    public V1PodTemplateSpec Template { get; set; } = new();

    public RolloutStrategy Strategy { get; set; } = new();

    public string? RestartAt { get; set; }
}

internal sealed class RolloutStrategy
{
    public CanaryStrategy? Canary { get; set; }

    public BlueGreenStrategy? BlueGreen { get; set; }
}

internal sealed class CanaryStrategy
{
    public IntOrString? MaxSurge { get; set; }

    public IntOrString? MaxUnavailable { get; set; }

    public List<Dictionary<string, object>>? Steps { get; set; }
}

internal sealed class BlueGreenStrategy
{
    public string? ActiveService { get; set; }

    public string? PreviewService { get; set; }

    public bool? AutoPromotionEnabled { get; set; }
}

/// <summary>Every manifest under <c>samples/deploy</c>, loaded strictly (unknown fields fail), by file.</summary>
internal sealed class DeployManifests
{
    private DeployManifests(string root, IReadOnlyDictionary<string, IReadOnlyList<object>> byFile)
    {
        Root = root;
        ByFile = byFile;
        All = byFile.Values.SelectMany(o => o).ToList();
    }

    public string Root { get; }

    public IReadOnlyDictionary<string, IReadOnlyList<object>> ByFile { get; }

    public IReadOnlyList<object> All { get; }

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "CtrFallback.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"No CtrFallback.sln above {AppContext.BaseDirectory}.");
        }
    }

    public static DeployManifests Load()
    {
        var root = Path.Combine(RepositoryRoot, "samples", "deploy");
        var typeMap = new Dictionary<string, Type> { ["argoproj.io/v1alpha1/Rollout"] = typeof(Rollout) };
        var byFile = new SortedDictionary<string, IReadOnlyList<object>>(StringComparer.Ordinal);
        foreach (var file in ManifestFiles(root))
        {
            byFile[Path.GetRelativePath(root, file).Replace('\\', '/')] =
                KubernetesYaml.LoadAllFromString(File.ReadAllText(file), typeMap, strict: true);
        }

        return new DeployManifests(root, byFile);
    }

    /// <summary>Kubernetes manifests: every YAML file except kustomize's own.</summary>
    public static IEnumerable<string> ManifestFiles(string root) =>
        Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(root, "*.yml", SearchOption.AllDirectories))
            .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public T Single<T>() => All.OfType<T>().Should().ContainSingle($"samples/deploy should hold exactly one {typeof(T).Name}").Subject;
}
