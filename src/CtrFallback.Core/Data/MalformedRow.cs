namespace CtrFallback.Data;

/// <summary>A click-log row that could not be read.</summary>
/// <param name="File">The file it is in.</param>
/// <param name="Line">Its 1-based line number.</param>
/// <param name="Reason">What is wrong with it.</param>
public sealed record MalformedRow(string File, long Line, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}: {Reason}";
}

/// <summary>Too many rows of a click log are malformed to trust it.</summary>
public sealed class ClickLogFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ClickLogFormatException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public ClickLogFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ClickLogFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The first malformed rows.</summary>
    public IReadOnlyList<MalformedRow> Examples { get; init; } = [];

    /// <summary>How many rows were malformed.</summary>
    public long MalformedCount { get; init; }

    /// <summary>How many rows were read in all, well-formed or not.</summary>
    public long TotalRows { get; init; }
}
