using System.Net;
using Patronus.Mesh.Announcements;
using Patronus.Agent.Mesh.Peers;
using Patronus.WireGuard;

namespace Patronus.Agent.Tests.Mesh;

public sealed class PeerPlannerTests
{
    private static readonly Key KeyB = Key.GeneratePrivate().PublicKey();
    private static readonly Key KeyC = Key.GeneratePrivate().PublicKey();

    private static Announcement Member(string id, Key key, string endpoint, params string[] prefixes) =>
        new(new MemberCertificate(id, new byte[32], DateTimeOffset.MaxValue, []), 1, DateTimeOffset.UnixEpoch, key.Bytes.ToArray(),
            [IPEndPoint.Parse(endpoint)], prefixes.Select(IPNetwork.Parse).ToArray());

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
}
