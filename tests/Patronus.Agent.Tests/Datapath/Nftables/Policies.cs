using System.Net;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Tests.Datapath.Nftables;

/// <summary>Hand-built compiled policies, as the compiler would produce them.</summary>
internal static class Policies
{
    public const string Ns = "team";

    public static EndpointId Id(string pod) => new(Ns, pod);

    public static EndpointPolicy Open(PodNetworkLab.Pod pod) =>
        new(Id(pod.Name), [pod.V4, pod.V6], DirectionPolicy.Open, DirectionPolicy.Open);

    public static EndpointPolicy Endpoint(PodNetworkLab.Pod pod, DirectionPolicy? ingress = null, DirectionPolicy? egress = null) =>
        new(Id(pod.Name), [pod.V4, pod.V6], ingress ?? DirectionPolicy.Open, egress ?? DirectionPolicy.Open);

    public static DirectionPolicy Isolated(string[] by, params AllowRule[] rules) =>
        new(true, by.Select(p => $"{Ns}/{p}").ToList(), rules);

    public static DirectionPolicy Isolated(string by, params AllowRule[] rules) => Isolated([by], rules);

    public static AllowRule Allow(string policy, IReadOnlyList<CidrMatch>? peers, IReadOnlyList<PortMatch>? ports, int rule = 0) =>
        new(new RuleOrigin(Ns, policy, rule, peers is null ? null : 0), peers, ports);

    public static CidrMatch Host(IPAddress address) =>
        new(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128), []);

    public static CidrMatch Cidr(string cidr, params string[] except) =>
        new(IPNetwork.Parse(cidr), except.Select(IPNetwork.Parse).ToList());

    public static PortMatch Tcp(int port) => new(Protocol.Tcp, port, port);
    public static PortMatch Tcp(int first, int last) => new(Protocol.Tcp, first, last);
    public static PortMatch Udp(int port) => new(Protocol.Udp, port, port);
}
