using System.Net;
using Patronus.Agent.Routes;

namespace Patronus.Agent.Tests.Routes;

public class MasqueradeRendererTests
{
    [Fact]
    public void Render_MasqueradesLocalPodsToEverythingOutsideTheClusterSet()
    {
        var script = MasqueradeRenderer.Render(
            [IPNetwork.Parse("10.244.1.0/24"), IPNetwork.Parse("fd00:10:244:1::/64")],
            [IPNetwork.Parse("10.96.0.0/12"), IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.244.1.0/24"), IPNetwork.Parse("10.244.1.0/24")]);

        Assert.Equal(
            """
            table inet patronus_nat {
            	set local_pods_v4 {
            		type ipv4_addr
            		flags interval
            		auto-merge
            		elements = { 10.244.1.0/24 }
            	}
            	set no_masquerade_v4 {
            		type ipv4_addr
            		flags interval
            		auto-merge
            		elements = { 10.96.0.0/12, 10.244.0.0/16, 10.244.1.0/24 }
            	}
            	set local_pods_v6 {
            		type ipv6_addr
            		flags interval
            		auto-merge
            		elements = { fd00:10:244:1::/64 }
            	}
            	set no_masquerade_v6 {
            		type ipv6_addr
            		flags interval
            		auto-merge
            	}
            	chain postrouting {
            		type nat hook postrouting priority srcnat; policy accept;
            		ip saddr @local_pods_v4 ip daddr != @no_masquerade_v4 masquerade
            		ip6 saddr @local_pods_v6 ip6 daddr != @no_masquerade_v6 masquerade
            	}
            }

            """.ReplaceLineEndings("\n"),
            script);
    }
}
