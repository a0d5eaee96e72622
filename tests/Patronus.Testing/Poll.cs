using System.Diagnostics;

namespace Patronus.Testing;

/// <summary>
/// Waiting for something the system does on its own time (an agent converging, an informer catching up): polls a
/// condition until it holds or the time is up, and says which. The caller asserts, with its own message.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(50);

    /// <returns>Whether <paramref name="condition"/> held within <paramref name="within"/> (checked once more at the end).</returns>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan within, TimeSpan? every = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (condition())
                return true;
            await Task.Delay(every ?? DefaultEvery).ConfigureAwait(false);
        }
        return condition();
    }

    /// <inheritdoc cref="UntilAsync(Func{bool}, TimeSpan, TimeSpan?)"/>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan within, TimeSpan? every = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (await condition().ConfigureAwait(false))
                return true;
            await Task.Delay(every ?? DefaultEvery).ConfigureAwait(false);
        }
        return await condition().ConfigureAwait(false);
    }

    /// <summary>The blocking form, for tests that are not async.</summary>
    public static bool Until(Func<bool> condition, TimeSpan within, TimeSpan? every = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (condition())
                return true;
            Thread.Sleep(every ?? DefaultEvery);
        }
        return condition();
    }
}
