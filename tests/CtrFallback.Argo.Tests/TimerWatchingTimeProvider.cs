using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also counts the timers created on it, so a test can wait until the code
/// under test is parked on a delay before advancing time: no sleeps, no races.
/// </summary>
internal sealed class TimerWatchingTimeProvider : TimeProvider
{
    private readonly SemaphoreSlim _created = new(0);

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _created.Release();
        return timer;
    }

    /// <summary>Waits for the next timer to be created; fails the test (rather than hang) if none comes.</summary>
    public async Task WaitForNextTimerAsync()
    {
        if (!await _created.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("The code under test never created the timer the test waited for.");
        }
    }
}
