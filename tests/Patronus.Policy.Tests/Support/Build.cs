using System.Net;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Tests.Support;

/// <summary>Short constructors for model objects, so that test tables read like the YAML they stand for.</summary>
internal static class Build
{
    public static Dictionary<string, string> Labels(params string[] pairs) =>
        pairs.Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    public static LabelSelector Select(params string[] pairs) => new(Labels(pairs), []);

    public static LabelSelector Expr(string key, SelectorOperator op, params string[] values) =>
        new(new Dictionary<string, string>(), [new LabelRequirement(key, op, values)]);

    public static Namespace Ns(string name, params string[] labels) => new(name, Labels(labels));

    public static Pod Pod(string ns, string name, string ip, string[]? labels = null, ContainerPort[]? ports = null) =>
        new(ns, name, Labels(labels ?? []), ip.Length == 0 ? [] : ip.Split(',').Select(IPAddress.Parse).ToArray(), ports ?? []);

    public static ContainerPort Port(int number, Protocol protocol = Protocol.Tcp, string? name = null) => new(name, number, protocol);

    public static PolicyPeer PodPeer(params string[] labels) => PolicyPeer.Pods(Select(labels));

    public static PolicyPeer NsPeer(params string[] labels) => PolicyPeer.Namespaces(Select(labels));

    public static PolicyPeer NsPodPeer(string[] nsLabels, string[] podLabels) => PolicyPeer.Namespaces(Select(nsLabels), Select(podLabels));

    public static PolicyPeer Block(string cidr, params string[] except) =>
        PolicyPeer.Block(new IpBlock(IPNetwork.Parse(cidr), except.Select(IPNetwork.Parse).ToArray()));

    public static PolicyRule Rule(PolicyPeer[]? peers = null, PolicyPort[]? ports = null) => new(peers ?? [], ports ?? []);

    public static PolicyPort TcpPort(int number) => new(Protocol.Tcp, number);

    public static NetworkPolicy Np(
        string ns, string name, LabelSelector? podSelector = null, PolicyTypes? types = null,
        PolicyRule[]? ingress = null, PolicyRule[]? egress = null)
    {
        egress ??= [];
        return new NetworkPolicy(ns, name, podSelector ?? LabelSelector.Everything, types ?? NetworkPolicy.DefaultTypes(egress), ingress ?? [], egress);
    }
}
