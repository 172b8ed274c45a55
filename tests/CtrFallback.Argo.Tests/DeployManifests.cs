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

    public List<CanaryStep>? Steps { get; set; }
}

/// <summary>One of <c>spec.strategy.canary.steps</c>: exactly one of its properties is set.</summary>
internal sealed class CanaryStep
{
    public int? SetWeight { get; set; }

    public PauseStep? Pause { get; set; }

    public RolloutAnalysis? Analysis { get; set; }
}

internal sealed class PauseStep
{
    public string? Duration { get; set; }
}

internal sealed class RolloutAnalysis
{
    public List<AnalysisTemplateRef> Templates { get; set; } = [];

    public List<AnalysisArgument>? Args { get; set; }
}

internal sealed class AnalysisTemplateRef
{
    public string TemplateName { get; set; } = string.Empty;

    public bool? ClusterScope { get; set; }
}

internal sealed class AnalysisArgument
{
    public string Name { get; set; } = string.Empty;

    public string? Value { get; set; }

    public ArgumentValueFrom? ValueFrom { get; set; }
}

internal sealed class ArgumentValueFrom
{
    public string? PodTemplateHashValue { get; set; }
}

/// <summary>The <c>argoproj.io/v1alpha1</c> AnalysisTemplate fields the samples use (Prometheus metrics only).</summary>
internal sealed class AnalysisTemplate : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = string.Empty;

    public string Kind { get; set; } = string.Empty;

    public V1ObjectMeta Metadata { get; set; } = new();

    public AnalysisTemplateSpec Spec { get; set; } = new();
}

internal sealed class AnalysisTemplateSpec
{
    public List<AnalysisArgument> Args { get; set; } = [];

    public List<AnalysisMetric> Metrics { get; set; } = [];
}

internal sealed class AnalysisMetric
{
    public string Name { get; set; } = string.Empty;

    public string? InitialDelay { get; set; }

    public string? Interval { get; set; }

    public int? Count { get; set; }

    public int? FailureLimit { get; set; }

    public string? SuccessCondition { get; set; }

    public string? FailureCondition { get; set; }

    public MetricProvider Provider { get; set; } = new();
}

internal sealed class MetricProvider
{
    public PrometheusMetric? Prometheus { get; set; }
}

internal sealed class PrometheusMetric
{
    public string Address { get; set; } = string.Empty;

    public string Query { get; set; } = string.Empty;
}

internal sealed class BlueGreenStrategy
{
    public string? ActiveService { get; set; }

    public string? PreviewService { get; set; }

    public bool? AutoPromotionEnabled { get; set; }
}

/// <summary>The manifests of one kustomization under <c>samples/deploy</c> (the base, or the canary overlay), loaded strictly (unknown fields fail), by file.</summary>
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

    public static string DeployRoot => Path.Combine(RepositoryRoot, "samples", "deploy");

    /// <summary>Loads one folder's manifests (not its subfolders): <c>base</c> by default, or <c>canary</c>.</summary>
    public static DeployManifests Load(string folder = "base")
    {
        var root = Path.Combine(DeployRoot, folder);
        var typeMap = new Dictionary<string, Type>
        {
            ["argoproj.io/v1alpha1/Rollout"] = typeof(Rollout),
            ["argoproj.io/v1alpha1/AnalysisTemplate"] = typeof(AnalysisTemplate),
        };
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
        Directory.EnumerateFiles(root, "*.yaml", SearchOption.TopDirectoryOnly)
            .Concat(Directory.EnumerateFiles(root, "*.yml", SearchOption.TopDirectoryOnly))
            .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public T Single<T>() => All.OfType<T>().Should().ContainSingle($"{Root} should hold exactly one {typeof(T).Name}").Subject;

    /// <summary>Every YAML file under <c>samples/deploy</c>, base, overlays and all.</summary>
    public static IEnumerable<string> AllYamlFiles() =>
        Directory.EnumerateFiles(DeployRoot, "*.y*ml", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
}
