using k8s;
using k8s.Models;
using Patronus.Agent.Services.Import;

namespace Patronus.Agent.Services.Writing;

/// <summary>Where the cluster's imports are written: the API server, or the manifests folder of embedded mode.</summary>
public interface IImportWriter
{
    /// <summary>Creates the object, or replaces it when it differs; true when something was written.</summary>
    Task<bool> PutAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken cancellationToken);

    /// <summary>Removes the object; nothing happens when it is not there.</summary>
    Task RemoveAsync(ObjectRef obj, CancellationToken cancellationToken);
}

/// <summary>Whether this agent is the cluster's one import writer.</summary>
public interface IWriterLeadership : IDisposable
{
    /// <summary>Tries to become (or stay) the writer; true while it is.</summary>
    bool TryLead();

    /// <summary>Gives the role up (the node is no longer a gateway).</summary>
    void Resign();
}
