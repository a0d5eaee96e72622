using Patronus.Policy.Compiled;

namespace Patronus.Policy.Compiler;

/// <summary>
/// What one update did to the compiled form: endpoints whose <see cref="EndpointPolicy"/> is new or differs
/// from before (reprogram them), and endpoints that no longer exist (their pod went away or lost its IPs).
/// </summary>
public sealed class PolicyChanges
{
    public static readonly PolicyChanges None = new([], []);

    public PolicyChanges(IReadOnlyCollection<EndpointId> changed, IReadOnlyCollection<EndpointId> removed)
    {
        Changed = changed;
        Removed = removed;
    }

    public IReadOnlyCollection<EndpointId> Changed { get; }

    public IReadOnlyCollection<EndpointId> Removed { get; }

    public bool IsEmpty => Changed.Count == 0 && Removed.Count == 0;
}
