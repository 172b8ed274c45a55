using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also watches the timers created on it, so a test can wait until the code
/// under test is parked on a delay before advancing time: no sleeps, no races.
/// </summary>
public sealed class TimerWatchingTimeProvider : TimeProvider
{
    private readonly SemaphoreSlim _created = new(0);
    private int _timers;

    /// <summary>The fake clock behind this provider.</summary>
    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    /// <summary>How many timers the code under test has created so far.</summary>
    public int TimersCreated => Volatile.Read(ref _timers);

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    /// <inheritdoc />
    public override long GetTimestamp() => Fake.GetTimestamp();

    /// <inheritdoc />
    public override long TimestampFrequency => Fake.TimestampFrequency;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        _created.Release();
        return timer;
    }

    /// <summary>Moves the fake clock forward, firing the timers that fall due.</summary>
    /// <param name="by">How far.</param>
    public void Advance(TimeSpan by) => Fake.Advance(by);

    /// <summary>Waits for the next timer to be created; fails the test (rather than hang) if none comes.</summary>
    public async Task WaitForNextTimerAsync()
    {
        if (!await _created.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("The code under test never created the timer the test waited for.");
        }
    }
}
