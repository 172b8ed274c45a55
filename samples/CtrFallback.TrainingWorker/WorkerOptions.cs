using System.ComponentModel.DataAnnotations;

namespace CtrFallback.TrainingWorker;

/// <summary>What the worker trains on and how often.</summary>
public sealed class WorkerOptions
{
    /// <summary>Click-log files, folders or globs (<c>*</c>, <c>**</c>), in time order; <c>CtrFallback:Training:Window</c> keeps the newest partitions.</summary>
    [Required]
    [MinLength(1, ErrorMessage = "List at least one click-log file in CtrFallback:Worker:Data.")]
    public List<string> Data { get; set; } = [];

    /// <summary>A preset log format (<c>criteo</c> or <c>avazu</c>) when no schema file is given.</summary>
    public string Format { get; set; } = "criteo";

    /// <summary>A JSON schema file for any other log layout.</summary>
    public string? SchemaFile { get; set; }

    /// <summary>Run the batch every interval; unset runs it once and exits (the Kubernetes CronJob shape).</summary>
    public TimeSpan? Interval { get; set; }
}
