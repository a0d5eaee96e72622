using System.Net;
using Patronus.Agent.Services.Model;

namespace Patronus.Agent.Tests.Services;

/// <summary>Exports as the tests write them: a cluster, an age in minutes (smaller is older), ports as "name:port/proto".</summary>
internal static class ServiceExports
{
    public static readonly ServiceKey Web = new("shop", "web");
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static ExportedPort Port(string name, int port, string protocol = "TCP", int? target = null, string? appProtocol = null) =>
        new(name, protocol, port, appProtocol, target ?? port + 8000);

    public static ClusterExport Export(
        string cluster,
        int minute,
        ExportedPort[]? ports = null,
        ExportedServiceType type = ExportedServiceType.ClusterSetIP,
        SessionAffinity affinity = SessionAffinity.None,
        int? timeout = null,
        IpFamily[]? families = null,
        ReadyEndpoint[]? endpoints = null,
        ServiceKey? service = null) =>
        new(cluster, service ?? Web, Epoch.AddMinutes(minute),
            new ExportedServiceSpec(type, ports ?? [Port("http", 80)], affinity, timeout, families ?? [IpFamily.IPv4]),
            endpoints ?? []);

    public static ClusterExport Missing(string cluster, int minute) => new(cluster, Web, Epoch.AddMinutes(minute), null, []);

    public static ReadyEndpoint Endpoint(string address, string? hostname = null) => new([IPAddress.Parse(address)], hostname);
}
