using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// CHECK (SPEC.md, "CHECK: Check container's networking is as expected"): the attachment <c>prevResult</c>
/// describes must still be there: the namespace and container interface (code 3 when gone), the host veth on
/// the bridge, every address and route, and the allocation (plugin code 100 when missing).
/// </summary>
public static class CheckCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        if (!Spec.CniVersion.HasCheck(conf.CniVersion))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion, $"CHECK needs cniVersion 0.4.0 or later; the config says {conf.CniVersion}");
        }

        using var podNs = NetnsPath.TryOpen(env.NetNs!)
            ?? throw new CniException(CniErrorCode.ContainerUnknown, $"CNI_NETNS \"{env.NetNs}\" does not exist");
        var prev = conf.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "prevResult is required for CHECK");
        var addresses = AddressSources.For(conf, env);

        using var node = RtNetlink.Open();
        using var pod = RtNetlink.OpenInFromThisThread(podNs);

        var container = pod.LinkByName(env.IfName)
            ?? throw new CniException(CniErrorCode.ContainerUnknown, $"interface \"{env.IfName}\" is missing in {env.NetNs}");
        if (container.Kind != "veth")
        {
            throw Missing($"interface \"{env.IfName}\" in {env.NetNs} is a {container.Kind} device, not a veth");
        }

        if (!container.IsUp)
        {
            throw Missing($"interface \"{env.IfName}\" in {env.NetNs} is down");
        }

        var bridge = node.LinkByName(conf.Bridge) ?? throw Missing($"bridge \"{conf.Bridge}\" is missing");
        var hostName = HostVethName.For(env.ContainerId, env.IfName);
        var host = node.LinkByName(hostName) ?? throw Missing($"host veth \"{hostName}\" is missing");
        if (host.MasterIndex != bridge.Index)
        {
            throw Missing($"host veth \"{hostName}\" is not a port of bridge \"{conf.Bridge}\"");
        }

        var ourIndex = prev.Interfaces.ToList().FindIndex(i => i.Name == env.IfName && i.Sandbox == env.NetNs);
        var present = pod.AddrList(container.Index);
        foreach (var ip in prev.Ips.Where(i => i.Interface is null || i.Interface == ourIndex))
        {
            if (!present.Any(a => a.Address.Address.Equals(ip.Address) && a.Address.PrefixLength == ip.PrefixLength))
            {
                throw Missing($"address {ip.Cidr} is missing on \"{env.IfName}\" in {env.NetNs}");
            }
        }

        var routes = pod.RouteList(System.Net.Sockets.AddressFamily.InterNetwork)
            .Concat(pod.RouteList(System.Net.Sockets.AddressFamily.InterNetworkV6)).ToList();
        foreach (var r in prev.Routes)
        {
            var found = routes.Any(k =>
                k.Destination.PrefixLength == r.Destination.PrefixLength
                && k.Destination.Address.Equals(r.Destination.BaseAddress)
                && (r.Gateway is null || r.Gateway.Equals(k.Gateway)));
            if (!found)
            {
                throw Missing($"route to {r.Destination}{(r.Gateway is null ? "" : $" via {r.Gateway}")} is missing in {env.NetNs}");
            }
        }

        if (conf.Runtime.Bandwidth is { } limits)
        {
            CheckShaping(node, host, HostVethName.IfbFor(env.ContainerId, env.IfName), limits);
        }

        addresses.Check();
        return [];
    }

    private static void CheckShaping(RtNetlink node, Link host, string ifbName, BandwidthLimits limits)
    {
        if (limits.HasIngress && !node.QdiscList(host.Index).Any(q => q.Kind == "tbf"))
        {
            throw Missing($"bandwidth: no token bucket shapes ingress on host veth \"{host.Name}\"");
        }

        if (limits.HasEgress)
        {
            var ifb = node.LinkByName(ifbName) ?? throw Missing($"bandwidth: ifb \"{ifbName}\" is missing");
            if (!node.QdiscList(ifb.Index).Any(q => q.Kind == "tbf"))
            {
                throw Missing($"bandwidth: no token bucket shapes egress on ifb \"{ifbName}\"");
            }
        }
    }

    private static CniException Missing(string what) => new(CheckFailure.Code, $"CHECK: {what}");
}
