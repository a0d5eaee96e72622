using Patronus.Agent.Client.Protocol;
using Patronus.Cli.Mesh;

namespace Patronus.Cli.Tests.Mesh;

/// <summary>What `patronus mesh status` says of each remote gateway: its STATE column, from liveness and handshakes.</summary>
public sealed class MeshStatusRenderTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static MeshSiteStatus Site(string id) => new()
    {
        Id = id, Gateway = "gw-1", Endpoints = ["192.0.2.1:51820"], Prefixes = ["10.248.0.0/16"],
        LastHandshake = Now.AddSeconds(-5), Up = true,
    };

    private static string StateOf(MeshSiteStatus site, string role = "gateway")
    {
        var output = new StringWriter();
        MeshCommand.Render(new MeshStatus { MemberId = "aws", Role = role, Interface = "wg-sdwan", Sites = [site] }, output, Now);
        var row = output.ToString().Split('\n').Single(l => l.Contains(site.Id, StringComparison.Ordinal));
        return row.Split('│', StringSplitOptions.TrimEntries)[2];
    }

    [Fact]
    public void ALiveGatewayWithARecentHandshake_IsUp_AndWithoutOne_Down()
    {
        Assert.Equal("up", StateOf(Site("gcp")));
        Assert.Equal("down", StateOf(Site("gcp") with { Up = false }));
    }

    [Fact]
    public void AGatewayThatAnsweredAndWentSilent_IsDead_ButOneNeverHeardYet_HasNoAnswerYet()
    {
        Assert.Equal("dead", StateOf(Site("gcp") with { Live = false, Answered = true }));
        Assert.Equal("no answer yet", StateOf(Site("gcp") with { Live = false, Answered = false, Up = false }));
    }

    [Fact]
    public void AConfiguredMemberNotHeardFrom_IsSaidSo_AndOnANodeGoesViaTheGateway()
    {
        Assert.Equal("not heard from", StateOf(new MeshSiteStatus { Id = "dc1", Configured = true }));
        Assert.Equal("via gateway", StateOf(new MeshSiteStatus { Id = "dc1", Configured = true }, role: "node"));
    }
}
