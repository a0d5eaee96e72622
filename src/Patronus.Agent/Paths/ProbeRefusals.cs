using System.Collections.Concurrent;

namespace Patronus.Agent.Paths;

/// <summary>Refused datagrams counted by reason, for the metrics and the tests.</summary>
public sealed class ProbeRefusals
{
    private readonly ConcurrentDictionary<ProbeRefusal, long> _counts = new();

    public long this[ProbeRefusal reason] => _counts.TryGetValue(reason, out var count) ? count : 0;

    public long Total => _counts.Values.Sum();

    public void Count(ProbeRefusal reason) => _counts.AddOrUpdate(reason, 1, static (_, count) => count + 1);
}
