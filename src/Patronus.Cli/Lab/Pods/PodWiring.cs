using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s.Models;
using Patronus.Cli.Lab.Nodes;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.State;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Pods;

/// <summary>
/// A pod's sandbox, as kubelet and the container runtime make it: a network namespace, loopback up, and the real
/// patronus-cni run in the node's namespace with the node's conflist (ADD, or DEL on the way out).
/// </summary>
internal static class PodWiring
{
    /// <summary>Records the sandbox, makes it, runs ADD; returns the record with the addresses the plugin gave.</summary>
    public static PodRecord Add(LabJournal journal, LabBinaries binaries, PodPlacement placement)
    {
        var cluster = placement.Node.Cluster;
        var netns = LabNames.Pod(journal.Record.Name, cluster, placement.Namespace, placement.Name);
        var pod = new PodRecord(cluster, placement.Namespace, placement.Name, placement.Node.Name, netns, netns, []);
        journal.SetPod(pod);
        using (var ns = journal.CreateNamespace(netns))
        using (var netlink = RtNetlink.OpenIn(ns))
            // The runtime's part, not the plugin's (kubelet runs the loopback plugin for it): a pod reaches itself over lo.
            netlink.LinkSetUp(netlink.LinkByName("lo")!.Index);
        var config = NodeConflist.PluginConfig(placement.Node.Paths.Conflist, placement.FixedAddresses);
        var result = JsonNode.Parse(RunPlugin(binaries, placement.Node, "ADD", pod, config));
        // What the plugin reports, not what was asked for.
        var ips = result?["ips"]?.AsArray().Select(ip => ((string?)ip?["address"])?.Split('/')[0]).OfType<string>().ToList() ?? [];
        if (ips.Count == 0)
            throw new LabException($"patronus-cni ADD for pod {pod.Id} returned no address");
        pod = pod with { Ips = ips };
        journal.SetPod(pod);
        return pod;
    }

    /// <summary>Runs DEL (which never fails for what is already gone), then removes the sandbox.</summary>
    public static void Remove(LabJournal journal, LabBinaries binaries, NodePlan node, PodRecord pod)
    {
        if (File.Exists(node.Paths.Conflist) && File.Exists(Path.Combine(NetNs.NamedDirectory, node.Netns)))
            RunPlugin(binaries, node, "DEL", pod, NodeConflist.PluginConfig(node.Paths.Conflist, []));
        NetNs.Delete(pod.Netns);
        journal.RemovePod(pod);
    }

    /// <summary>The pod object as kubelet reports it once the sandbox runs: its addresses, its node's address, Running.</summary>
    public static V1Pod WithStatus(V1Pod pod, PodRecord record, NodePlan node)
    {
        pod.Status ??= new V1PodStatus();
        pod.Status.Phase = "Running";
        pod.Status.PodIP = record.Ips[0];
        pod.Status.PodIPs = record.Ips.Select(ip => new V1PodIP { Ip = ip }).ToList();
        pod.Status.HostIP = node.Address.ToString();
        pod.Status.HostIPs = [new V1HostIP { Ip = node.Address.ToString() }, new V1HostIP { Ip = node.AddressV6.ToString() }];
        return pod;
    }

    private static string RunPlugin(LabBinaries binaries, NodePlan node, string command, PodRecord pod, string config)
    {
        var start = new ProcessStartInfo(binaries.Plugin)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = pod.ContainerId;
        start.Environment["CNI_NETNS"] = Path.Combine(NetNs.NamedDirectory, pod.Netns);
        start.Environment["CNI_IFNAME"] = "eth0";
        start.Environment["CNI_PATH"] = binaries.PluginDirectory;
        start.Environment["CNI_ARGS"] = $"IgnoreUnknown=1;K8S_POD_NAMESPACE={pod.Namespace};K8S_POD_NAME={pod.Name}";
        using var nodeNs = NetNs.OpenNamed(node.Netns);
        // A child is born in the network namespace of the thread that starts it: the plugin runs "on the node".
        using var process = nodeNs.Run(() => Process.Start(start)) ?? throw new LabException($"could not start {binaries.Plugin}");
        // stderr is drained alongside stdout so that neither pipe can fill up and stall the plugin.
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(config);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new LabException($"patronus-cni {command} for pod {pod.Id} on {node.Cluster}/{node.Name} failed: {output.Trim()} {errors.Result.Trim()}");
        return output;
    }
}
