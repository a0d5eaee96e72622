using Patronus.Cli.Lab.Processes;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.State;

/// <summary>
/// The record of a lab being changed, saved before each resource is made: a namespace is written down, then
/// created; a pod's sandbox is written down, then wired. A crash between the two leaves a record naming something
/// that may not exist, which <c>lab down</c> takes in its stride, never something that exists unrecorded.
/// </summary>
internal sealed class LabJournal(LabStore store, LabRecord record)
{
    public LabRecord Record { get; } = record;

    public LabStore Store { get; } = store;

    public void Save() => Store.Save(Record);

    /// <summary>Records the namespace, then creates it.</summary>
    public NetNs CreateNamespace(string name)
    {
        if (!Record.Namespaces.Contains(name))
        {
            Record.Namespaces.Add(name);
            Save();
        }
        try
        {
            return NetNs.Create(name);
        }
        catch (NetlinkException e) when (e.IsExists)
        {
            throw new LabException($"network namespace {name} already exists: a lab with this name is still there (`patronus lab down --name {Record.Name}`)");
        }
    }

    public void AddProcess(ProcessRecord process)
    {
        Record.Processes.RemoveAll(p => p.Role == process.Role && p.Cluster == process.Cluster && p.Node == process.Node);
        Record.Processes.Add(process);
        Save();
    }

    public void SetPod(PodRecord pod)
    {
        Record.Pods.RemoveAll(p => p.Cluster == pod.Cluster && p.Namespace == pod.Namespace && p.Name == pod.Name);
        Record.Pods.Add(pod);
        Save();
    }

    public void RemovePod(PodRecord pod)
    {
        Record.Pods.RemoveAll(p => p.Cluster == pod.Cluster && p.Namespace == pod.Namespace && p.Name == pod.Name);
        Record.Namespaces.Remove(pod.Netns);
        Save();
    }
}
