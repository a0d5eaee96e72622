using Patronus.Agent.Client.Protocol;
using Patronus.Mesh.Announcements;
using Patronus.WireGuard;

namespace Patronus.Agent.Mesh;

/// <summary>The mesh feature as <c>patronus status</c> and <c>patronus mesh status</c> show it. Public keys only.</summary>
public static class MeshStatusReport
{
    /// <summary>WireGuard drops a session this long after its handshake (REJECT_AFTER_TIME): a tunnel is up while its last handshake is younger.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromSeconds(180);

    public static MeshStatus Of(MeshFeature mesh, TimeProvider? time = null)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var options = mesh.Options;
        var configured = options.RemoteClusters;
        if (mesh.Gateway is not { } gateway)
        {
            // Not a gateway here: the remote clusters this node routes to one, as configured.
            return new MeshStatus
            {
                MemberId = options.MemberId ?? "",
                Role = options.SiteName is not null ? "site" : mesh.IsGateway ? "gateway" : "node",
                Interface = options.Interface,
                ListenPort = options.ListenPort,
                Problem = mesh.Problem,
                Sites = configured.Select(r => new MeshSiteStatus
                {
                    Id = r.Id,
                    Endpoints = [r.Endpoint.ToString()],
                    Prefixes = r.Cidrs.Select(c => c.ToString()).ToArray(),
                    Configured = true,
                }).ToArray(),
            };
        }

        GatewayState state;
        try
        {
            state = gateway.State();
        }
        catch (Exception e) when (e is WireGuardException or IOException or InvalidOperationException)
        {
            return new MeshStatus { MemberId = options.MemberId ?? "", Role = options.SiteName is not null ? "site" : "gateway", Interface = options.Interface, Problem = $"the WireGuard device cannot be read: {e.Message}" };
        }
        var sites = new List<MeshSiteStatus>();
        foreach (var member in state.Members.OrderBy(m => m.MemberId, StringComparer.Ordinal).ThenBy(m => m.Gateway, StringComparer.Ordinal))
        {
            var peer = state.PeerOf(member);
            sites.Add(new MeshSiteStatus
            {
                Id = member.MemberId,
                Gateway = member.Gateway,
                Carrier = gateway.Carriers.TryGetValue(member.MemberId, out var carrier) && carrier == member.Gateway,
                Live = gateway.Liveness.IsLive(member.Announcer.ToString()),
                Answered = gateway.Liveness.HasAnswered(member.Announcer.ToString()),
                Endpoints = member.Endpoints.Select(e => e.ToString()).ToArray(),
                Prefixes = member.Prefixes.Select(p => p.ToString()).ToArray(),
                Endpoint = peer?.Endpoint?.ToString(),
                PublicKey = Convert.ToBase64String(member.WireGuardKey),
                LastHandshake = peer?.LastHandshakeTime,
                ReceiveBytes = peer?.ReceiveBytes ?? 0,
                TransmitBytes = peer?.TransmitBytes ?? 0,
                Up = peer?.LastHandshakeTime is { } at && now - at < SessionLifetime,
            });
        }
        // Configured but silent: shown, so an operator sees whom we wait for.
        foreach (var remote in configured.Where(r => sites.All(s => s.Id != r.Id)))
        {
            sites.Add(new MeshSiteStatus
            {
                Id = remote.Id,
                Endpoints = [remote.Endpoint.ToString()],
                Prefixes = remote.Cidrs.Select(c => c.ToString()).ToArray(),
                Configured = true,
            });
        }
        var own = state.Device.PublicKey;
        return new MeshStatus
        {
            MemberId = state.MemberId,
            Role = options.SiteName is not null ? "site" : "gateway",
            Interface = state.Interface,
            ListenPort = state.ListenPort,
            Endpoints = gateway.Announced.Endpoints.Select(e => e.ToString()).ToArray(),
            Prefixes = gateway.Announced.Prefixes.Select(p => p.ToString()).ToArray(),
            PublicKey = own is null ? null : Convert.ToBase64String(own.Bytes),
            KeyAgeSeconds = Math.Max(0, (now - state.KeyCreated).TotalSeconds),
            Problem = mesh.Problem,
            Sites = sites,
            Rejected = state.Rejected.Where(r => r.Key != RejectReason.OwnAnnouncement)
                .ToDictionary(r => RejectReasons.Label(r.Key), r => r.Value),
        };
    }
}
