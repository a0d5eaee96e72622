using Patronus.Mesh.Announcements;
using Prometheus;

namespace Patronus.Agent.Mesh;

/// <summary>
/// The mesh's metrics, read from the gateway's device when Prometheus scrapes (no timer of its own): per peer
/// handshake age and bytes, the seed's <c>patronus_pod_bandwidth_mbps{src_cluster,dst_cluster}</c> (the tunnel's
/// rate between two scrapes), announcements refused by reason, and the liveness of gateways (this cluster's, as this
/// node probes them, and the remote ones, as this gateway probes them) with the failovers it caused. Labels name
/// members and gateways, never keys. A member with several gateways is one member: its peers' counters add up.
/// </summary>
public sealed class MeshMetrics
{
    private readonly Func<MeshGateway?> _gateway;
    private readonly Routes.RoutesFeature? _routes;
    private readonly Gauge _gatewayUp;
    private readonly Gauge _failovers;
    private readonly TimeProvider _time;
    private readonly Gauge _handshakeAge;
    private readonly Counter _received;
    private readonly Counter _sent;
    private readonly Gauge _bandwidth;
    private readonly Counter _rejected;
    private readonly Gauge _peers;
    private readonly Gauge _keyAge;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Rx, long Tx, DateTimeOffset At)> _last = [];
    private readonly HashSet<string> _labelled = [];

    /// <param name="routes">The routes feature, whose liveness of this cluster's gateways is reported; null when routes are off.</param>
    public MeshMetrics(MeshFeature mesh, CollectorRegistry registry, TimeProvider? time = null, Routes.RoutesFeature? routes = null)
        : this(() => mesh.Gateway, registry, time, routes)
    {
    }

    /// <summary>The metrics of whatever gateway <paramref name="gateway"/> returns when scraped (tests run a gateway without the feature).</summary>
    internal MeshMetrics(Func<MeshGateway?> gateway, CollectorRegistry registry, TimeProvider? time = null, Routes.RoutesFeature? routes = null)
    {
        _gateway = gateway;
        _routes = routes;
        _time = time ?? TimeProvider.System;
        var factory = Metrics.WithCustomRegistry(registry);
        _handshakeAge = factory.CreateGauge("patronus_mesh_peer_handshake_age_seconds",
            "Seconds since the last WireGuard handshake with each member (-1 before the first).", new GaugeConfiguration { LabelNames = ["peer"] });
        _received = factory.CreateCounter("patronus_mesh_peer_received_bytes_total",
            "Bytes received through the tunnel from each member.", new CounterConfiguration { LabelNames = ["peer"] });
        _sent = factory.CreateCounter("patronus_mesh_peer_sent_bytes_total",
            "Bytes sent through the tunnel to each member.", new CounterConfiguration { LabelNames = ["peer"] });
        _bandwidth = factory.CreateGauge("patronus_pod_bandwidth_mbps",
            "Pod traffic through the mesh between two clusters, in Mbit/s, averaged since the previous scrape.", new GaugeConfiguration { LabelNames = ["src_cluster", "dst_cluster"] });
        _rejected = factory.CreateCounter("patronus_mesh_announcements_rejected_total",
            "Announcements refused, by reason; none of them changed anything.", new CounterConfiguration { LabelNames = ["reason"] });
        _peers = factory.CreateGauge("patronus_mesh_peers", "Members with a tunnel on this gateway (0 on a node that is not one).");
        _gatewayUp = factory.CreateGauge("patronus_mesh_gateway_up",
            "1 when a gateway answers its liveness probes, 0 when it is dead; role local: this cluster's gateways as this node probes them, remote: other members' gateways as this gateway probes them.",
            new GaugeConfiguration { LabelNames = ["role", "gateway"] });
        // A gauge set from the liveness' own count: the count lives as long as the liveness, not the scrape.
        _failovers = factory.CreateGauge("patronus_mesh_gateway_failovers",
            "Times traffic moved to another gateway because one went dead or came back, since the liveness started (role as for patronus_mesh_gateway_up).",
            new GaugeConfiguration { LabelNames = ["role"] });
        _keyAge = factory.CreateGauge("patronus_mesh_key_age_seconds", "Age of this gateway's WireGuard key (it is replaced on schedule).");
        foreach (var reason in Enum.GetValues<RejectReason>())
        {
            if (reason != RejectReason.OwnAnnouncement)
                _rejected.WithLabels(RejectReasons.Label(reason));
        }
        registry.AddBeforeCollectCallback(Update);
    }

    private void UpdateLiveness()
    {
        foreach (var liveness in new[] { _routes?.Liveness, _gateway()?.Liveness })
        {
            if (liveness is null)
                continue;
            foreach (var (gateway, live) in liveness.Gateways)
                _gatewayUp.WithLabels(liveness.Role, gateway).Set(live ? 1 : 0);
            _failovers.WithLabels(liveness.Role).Set(liveness.Failovers);
        }
    }

    private void Update()
    {
        lock (_lock)
        {
            UpdateLiveness();
            if (_gateway() is not { } gateway)
            {
                _peers.Set(0);
                return;
            }
            GatewayState state;
            try
            {
                state = gateway.State();
            }
            catch (Exception e) when (e is Patronus.WireGuard.WireGuardException or IOException or InvalidOperationException)
            {
                return; // the device is being replaced; the next scrape reads it
            }
            var now = _time.GetUtcNow();
            var seen = new HashSet<string>();
            foreach (var member in state.Members.GroupBy(m => m.MemberId))
            {
                var peers = member.Select(state.PeerOf).OfType<Patronus.WireGuard.Peer>().ToList();
                if (peers.Count == 0)
                    continue;
                var id = member.Key;
                seen.Add(id);
                var handshake = peers.Max(p => p.LastHandshakeTime);
                var received = peers.Sum(p => p.ReceiveBytes);
                var sent = peers.Sum(p => p.TransmitBytes);
                _handshakeAge.WithLabels(id).Set(handshake is { } at ? Math.Max(0, (now - at).TotalSeconds) : -1);
                _received.WithLabels(id).IncTo(received);
                _sent.WithLabels(id).IncTo(sent);
                if (_last.TryGetValue(id, out var last) && now > last.At && received >= last.Rx && sent >= last.Tx)
                {
                    var seconds = (now - last.At).TotalSeconds;
                    _bandwidth.WithLabels(state.MemberId, id).Set((sent - last.Tx) * 8 / seconds / 1e6);
                    _bandwidth.WithLabels(id, state.MemberId).Set((received - last.Rx) * 8 / seconds / 1e6);
                }
                _last[id] = (received, sent, now);
            }
            foreach (var gone in _labelled.Except(seen).ToArray())
            {
                _handshakeAge.RemoveLabelled(gone);
                _received.RemoveLabelled(gone);
                _sent.RemoveLabelled(gone);
                _bandwidth.RemoveLabelled(state.MemberId, gone);
                _bandwidth.RemoveLabelled(gone, state.MemberId);
                _last.Remove(gone);
                _labelled.Remove(gone);
            }
            _labelled.UnionWith(seen);
            _peers.Set(seen.Count);
            _keyAge.Set(Math.Max(0, (now - state.KeyCreated).TotalSeconds));
            foreach (var (reason, count) in state.Rejected)
            {
                if (reason != RejectReason.OwnAnnouncement)
                    _rejected.WithLabels(RejectReasons.Label(reason)).IncTo(count);
            }
        }
    }
}
