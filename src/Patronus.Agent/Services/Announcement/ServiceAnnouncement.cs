using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Services.Announcement;

/// <summary>
/// What one cluster tells the cluster set about one exported service: the payload the mesh signs and carries (a signed
/// envelope wraps these bytes; this type knows nothing of keys). <see cref="Sequence"/> grows with every announcement of
/// the cluster, so a receiver keeps the newest and drops replays. A <see cref="Withdrawn"/> announcement says the
/// ServiceExport is gone (or no longer valid): it carries no spec and no endpoints.
/// </summary>
public sealed record ServiceAnnouncement(
    string ClusterId,
    ulong Sequence,
    ServiceKey Service,
    DateTimeOffset ExportCreated,
    ExportedServiceSpec? Spec,
    IReadOnlyList<ReadyEndpoint> Endpoints)
{
    public bool Withdrawn => Spec is null;

    /// <summary>The export this announcement stands for, as the merge takes it; null when withdrawn.</summary>
    public ClusterExport? ToExport() => Spec is null ? null : new ClusterExport(ClusterId, Service, ExportCreated, Spec, Endpoints);
}
