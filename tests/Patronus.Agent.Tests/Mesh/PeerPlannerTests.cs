using System.Net;
using Patronus.Mesh.Announcements;
using Patronus.Agent.Mesh.Peers;
using Patronus.WireGuard;

namespace Patronus.Agent.Tests.Mesh;

public sealed class PeerPlannerTests
{
    private static readonly Key KeyB = Key.GeneratePrivate().PublicKey();
    private static readonly Key KeyC = Key.GeneratePrivate().PublicKey();

    private static Announcement Member(string id, Key key, string endpoint, params string[] prefixes) => Gateway(id, "gw", key, endpoint, prefixes);

    private static Announcement Gateway(string id, string gateway, Key key, string endpoint, params string[] prefixes) =>
        new(new MemberCertificate(id, new byte[32], DateTimeOffset.MaxValue, []), 1, DateTimeOffset.UnixEpoch, key.Bytes.ToArray(),
            [IPEndPoint.Parse(endpoint)], prefixes.Select(IPNetwork.Parse).ToArray(), gateway);

    private static readonly Key KeyB2 = Key.GeneratePrivate().PublicKey();
    private static readonly Key KeyB3 = Key.GeneratePrivate().PublicKey();

    // cluster-b with three gateways, announced out of name order; cluster-c with one.
    private static readonly Announcement B1 = Gateway("cluster-b", "node-1", KeyB, "192.0.2.2:51820", "10.248.0.0/16", "fd00:248::/48");
    private static readonly Announcement B2 = Gateway("cluster-b", "node-2", KeyB2, "192.0.2.4:51820", "10.248.0.0/16", "fd00:248::/48");
    private static readonly Announcement B3 = Gateway("cluster-b", "node-3", KeyB3, "192.0.2.5:51820", "10.248.0.0/16", "fd00:248::/48");
    private static readonly Announcement C = Gateway("cluster-c", "site", KeyC, "192.0.2.3:51820", "10.250.0.0/16");

    private static Peer Configured(Announcement gateway, bool carrier) => AsConfigured(gateway) with { AllowedIPs = carrier ? gateway.Prefixes : [] };

    private static Peer AsConfigured(Announcement member) => new()
    {
        PublicKey = Key.FromBytes(KeyKind.Public, member.WireGuardKey),
        Endpoint = member.Endpoints[0],
        PersistentKeepaliveInterval = PeerPlanner.Keepalive,
        AllowedIPs = member.Prefixes,
    };

    [Fact]
    public void NewMember_BecomesAPeerWithItsPrefixesEndpointAndKeepalive_AndItsPrefixesAreRouted()
    {
        var b = Member("cluster-b", KeyB, "192.0.2.2:51820", "10.248.0.0/16", "fd00:248::/48");

        var plan = PeerPlanner.Plan([b], []);

        var peer = Assert.Single(plan.Changes);
        Assert.Equal(KeyB, peer.PublicKey);
        Assert.False(peer.Remove);
        Assert.True(peer.ReplaceAllowedIPs);
        Assert.Equal(IPEndPoint.Parse("192.0.2.2:51820"), peer.Endpoint);
        Assert.Equal(PeerPlanner.Keepalive, peer.PersistentKeepaliveInterval);
        Assert.Equal(["10.248.0.0/16", "fd00:248::/48"], peer.AllowedIPs.Select(p => p.ToString()));
        Assert.Equal(["10.248.0.0/16", "fd00:248::/48"], plan.Routes.Select(p => p.ToString()));
    }

    [Fact]
    public void DeviceAlreadyMatching_NeedsNoChange()
    {
        var b = Member("cluster-b", KeyB, "192.0.2.2:51820", "fd00:248::/48", "10.248.0.0/16");

        var plan = PeerPlanner.Plan([b], [AsConfigured(b) with { AllowedIPs = b.Prefixes.Reverse().ToArray() }]);

        Assert.Empty(plan.Changes);
        Assert.Equal(2, plan.Routes.Count);
    }

    [Theory]
    [InlineData("192.0.2.9:51820", "10.248.0.0/16")] // moved
    [InlineData("192.0.2.2:51820", "10.249.0.0/16")] // other prefixes
    public void MemberThatChanged_IsUpdatedInPlace_NeverRemovedAndReadded(string endpoint, string prefix)
    {
        var before = Member("cluster-b", KeyB, "192.0.2.2:51820", "10.248.0.0/16");
        var after = Member("cluster-b", KeyB, endpoint, prefix);

        var plan = PeerPlanner.Plan([after], [AsConfigured(before)]);

        var change = Assert.Single(plan.Changes);
        Assert.False(change.Remove);
        Assert.Equal(IPEndPoint.Parse(endpoint), change.Endpoint);
        Assert.Equal([IPNetwork.Parse(prefix)], change.AllowedIPs);
        Assert.Equal([IPNetwork.Parse(prefix)], plan.Routes);
    }

    [Fact]
    public void PeerNoMemberAccountsFor_IsRemoved_UnlessAdopting()
    {
        var b = Member("cluster-b", KeyB, "192.0.2.2:51820", "10.248.0.0/16");
        var c = Member("cluster-c", KeyC, "192.0.2.3:51820", "10.250.0.0/16");

        var removing = PeerPlanner.Plan([b], [AsConfigured(b), AsConfigured(c)]);
        var adopting = PeerPlanner.Plan([b], [AsConfigured(b), AsConfigured(c)], keepUnknownPeers: true);

        var removal = Assert.Single(removing.Changes);
        Assert.Equal((KeyC, true), (removal.PublicKey, removal.Remove));
        Assert.Equal([IPNetwork.Parse("10.248.0.0/16")], removing.Routes);
        Assert.Empty(adopting.Changes);
        Assert.Equal(["10.248.0.0/16", "10.250.0.0/16"], adopting.Routes.Select(p => p.ToString()));
    }

    [Fact]
    public void TwoMembersAnnouncingOneKey_TheFirstByIdKeepsIt_WhicheverOrderTheyCameIn()
    {
        var b = Member("cluster-b", KeyB, "192.0.2.2:51820", "10.248.0.0/16");
        var impostor = Member("cluster-a", KeyB, "192.0.2.66:51820", "10.250.0.0/16");

        var one = PeerPlanner.Plan([b, impostor], []);
        var other = PeerPlanner.Plan([impostor, b], []);

        Assert.Equal(one.Routes, other.Routes);
        Assert.Equal(IPEndPoint.Parse("192.0.2.66:51820"), Assert.Single(one.Changes).Endpoint);
    }

    [Fact]
    public void NoMembersAndNoPeers_IsNothingToDo()
    {
        var plan = PeerPlanner.Plan([], []);

        Assert.Empty(plan.Changes);
        Assert.Empty(plan.Routes);
    }

    public static TheoryData<string, string> LivenessCases() => new()
    {
        // dead gateways (by name) → the carrier of cluster-b
        { "", "node-1" },
        { "node-1", "node-2" },
        { "node-2", "node-1" },
        { "node-1,node-2", "node-3" },
        { "node-1,node-3", "node-2" },
        { "node-2,node-3", "node-1" },
        { "node-3", "node-1" },
        // none known live: the first by name, rather than nothing
        { "node-1,node-2,node-3", "node-1" },
    };

    [Theory]
    [MemberData(nameof(LivenessCases))]
    public void MemberWithSeveralGateways_EveryGatewayIsAPeer_ThePrefixesGoToTheFirstLiveByName(string dead, string carrier)
    {
        var down = dead.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();

        var plan = PeerPlanner.Plan([B3, C, B2, B1], [], isLive: g => g.MemberId != "cluster-b" || !down.Contains(g.Gateway));

        Assert.Equal(4, plan.Changes.Count);
        Assert.All(plan.Changes, c => Assert.Equal(PeerPlanner.Keepalive, c.PersistentKeepaliveInterval));
        var byGateway = new[] { B1, B2, B3 }.ToDictionary(g => g.Gateway, g => plan.Changes.Single(c => c.PublicKey.Equals(Key.FromBytes(KeyKind.Public, g.WireGuardKey))));
        foreach (var (name, change) in byGateway)
            Assert.Equal(name == carrier ? ["10.248.0.0/16", "fd00:248::/48"] : Array.Empty<string>(), change.AllowedIPs.Select(p => p.ToString()));
        Assert.Equal(carrier, plan.Carriers["cluster-b"]);
        Assert.Equal("site", plan.Carriers["cluster-c"]);
        Assert.Equal(["10.248.0.0/16", "10.250.0.0/16", "fd00:248::/48"], plan.Routes.Select(p => p.ToString()));
    }

    [Fact]
    public void CarrierDies_ThePrefixesMoveInOneChange_TheTakerFirst_AndNothingElseIsTouched()
    {
        var before = new[] { Configured(B1, carrier: true), Configured(B2, carrier: false), Configured(B3, carrier: false), Configured(C, carrier: true) };

        var plan = PeerPlanner.Plan([B1, B2, B3, C], before, isLive: g => g.Gateway != "node-1");

        Assert.Equal(2, plan.Changes.Count);
        Assert.Equal((KeyB2, 2), (plan.Changes[0].PublicKey, plan.Changes[0].AllowedIPs.Count));
        Assert.Equal((KeyB, 0), (plan.Changes[1].PublicKey, plan.Changes[1].AllowedIPs.Count));
        Assert.All(plan.Changes, c => Assert.True(c.ReplaceAllowedIPs && !c.Remove));
        Assert.Equal("node-2", plan.Carriers["cluster-b"]);
    }

    [Fact]
    public void CarrierComesBack_ThePrefixesMoveBack()
    {
        var failedOver = new[] { Configured(B1, carrier: false), Configured(B2, carrier: true), Configured(B3, carrier: false) };

        var plan = PeerPlanner.Plan([B1, B2, B3], failedOver, isLive: _ => true);

        Assert.Equal([KeyB, KeyB2], plan.Changes.Select(c => c.PublicKey));
        Assert.Equal([2, 0], plan.Changes.Select(c => c.AllowedIPs.Count));
    }

    [Fact]
    public void DeviceMatchingTheCarrier_NeedsNoChange()
    {
        var device = new[] { Configured(B1, carrier: false), Configured(B2, carrier: true), Configured(B3, carrier: false) };

        Assert.Empty(PeerPlanner.Plan([B3, B2, B1], device, isLive: g => g.Gateway != "node-1").Changes);
    }

    [Fact]
    public void GatewayThatStopsAnnouncing_IsRemovedAfterTheTakerIsSet()
    {
        var before = new[] { Configured(B1, carrier: true), Configured(B2, carrier: false) };

        var plan = PeerPlanner.Plan([B2], before);

        Assert.Equal([(KeyB2, false, 2), (KeyB, true, 0)], plan.Changes.Select(c => (c.PublicKey, c.Remove, c.AllowedIPs.Count)));
    }

    [Fact]
    public void LivenessOfOneMember_DoesNotMoveAnother()
    {
        // cluster-c has one gateway: dead or not, it carries its prefixes (there is nowhere else to send them).
        var plan = PeerPlanner.Plan([B1, B2, C], [], isLive: g => g.MemberId != "cluster-c");

        Assert.Equal("site", plan.Carriers["cluster-c"]);
        Assert.Equal("node-1", plan.Carriers["cluster-b"]);
    }
}
