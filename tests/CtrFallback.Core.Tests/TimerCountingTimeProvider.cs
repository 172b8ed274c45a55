using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that counts the timers created on it, so a test can wait until the code under test
/// is parked on its delay before advancing time: no sleeps, no races.
/// </summary>
internal sealed class TimerCountingTimeProvider : TimeProvider
{
    private int _timers;

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    public int TimersCreated => Volatile.Read(ref _timers);

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }

    public void Advance(TimeSpan by) => Fake.Advance(by);
}
