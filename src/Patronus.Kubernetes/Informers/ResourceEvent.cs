using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Informers;

public enum ResourceEventType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>A change to one object, from a watch, a re-list (synthetic deletes) or a manifest folder.</summary>
public sealed record ResourceEvent(ResourceEventType Type, IKubernetesObject<V1ObjectMeta> Object);

/// <summary>Anything that feeds cluster objects into the store: an informer or a manifest folder.</summary>
public interface IResourceSource
{
    /// <summary>Raised for every change, on the source's own task, one at a time.</summary>
    event Action<ResourceEvent>? Changed;

    /// <summary>Completes once the source has delivered its first complete view (list or folder load).</summary>
    Task Synced { get; }

    /// <summary>Complete views delivered so far (lists, folder scans): a source restarted after a failure is whole again once this moves.</summary>
    int Syncs { get; }

    Task RunAsync(CancellationToken cancellationToken);
}
