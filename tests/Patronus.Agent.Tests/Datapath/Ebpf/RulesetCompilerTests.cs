using System.Net;
using System.Net.Sockets;
using Patronus.Agent.Datapath.Ebpf.Rules;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Policy.Compiled;

namespace Patronus.Agent.Tests.Datapath.Ebpf;

/// <summary>
/// The LPM entries a direction compiles to, looked up the way the kernel does (longest matching prefix of the
/// rule set's peers, then of the class's ports), against <see cref="DirectionPolicy.Allows"/>.
/// </summary>
public sealed class RulesetCompilerTests
{
    [Theory]
    [InlineData(0u, 255u, 8, new[] { "0/24" })]
    [InlineData(1u, 6u, 8, new[] { "1/32", "2/31", "4/31", "6/32" })]
    [InlineData(0u, 0u, 8, new[] { "0/32" })]
    public void Prefixes_CoverExactlyTheRange(uint first, uint last, int bits, string[] expected)
    {
        var prefixes = RulesetCompiler.Prefixes(first, last, bits).Select(p => $"{p.Start}/{p.Length + 32 - bits}").ToArray();
        Assert.Equal(expected, prefixes);
    }

    [Fact]
    public void Prefixes_WholeIpv6Space_IsOnePrefix() =>
        Assert.Equal([(UInt128.Zero, 0)], RulesetCompiler.Prefixes(0, UInt128.MaxValue, 128).ToArray());

    [Fact]
    public void Prefixes_PortRange_IsMinimal()
    {
        // 8000-8100: 8000/11 bits... as aligned blocks.
        var prefixes = RulesetCompiler.Prefixes(8000, 8100, 16).ToList();
        var covered = prefixes.SelectMany(p => Enumerable.Range((int)p.Start, 1 << (16 - p.Length))).ToList();
        Assert.Equal(Enumerable.Range(8000, 101), covered);
        Assert.True(prefixes.Count <= 2 * 16);
    }

    [Fact]
    public void AllowAll_IsOneAnyPortPrefixPerFamily()
    {
        var compiled = Compile(new DirectionPolicy(true, ["ns/p"], [new AllowRule(new RuleOrigin("ns", "p", 0, null), null, null)]));

        Assert.Equal(2, compiled.Peers.Count);
        Assert.All(compiled.Peers, p => Assert.True(p.AnyPort && p.PrefixLength == 0));
        Assert.Empty(compiled.Ports);
    }

    [Fact]
    public void SamePortsOnManyPeers_ShareOneClass()
    {
        var rules = Enumerable.Range(1, 50).Select(i =>
            new AllowRule(new RuleOrigin("ns", $"p{i}", 0, 0), [new CidrMatch(new IPNetwork(IPAddress.Parse($"10.0.{i}.0"), 24), [])], [new PortMatch(Protocol.Tcp, 80, 80)])).ToList();
        var compiled = Compile(new DirectionPolicy(true, ["ns/p"], rules));

        Assert.Single(compiled.Peers.Select(p => p.PortClass).Distinct());
        Assert.Single(compiled.Ports);
    }

    [Fact]
    public void Recompile_WithTheSameClasses_OneRuleMoved_ChangesOnlyItsEntries()
    {
        DirectionPolicy Policy(int lastPort) => new(true, ["ns/p"], Enumerable.Range(0, 1000).Select(i =>
            new AllowRule(new RuleOrigin("ns", $"p{i}", 0, 0), [new CidrMatch(new IPNetwork(new IPAddress([10, 99, (byte)(i / 250), (byte)(i % 250 + 1)]), 32), [])],
                [new PortMatch(Protocol.Tcp, i == 999 ? lastPort : 10000 + i, i == 999 ? lastPort : 10000 + i)])).ToList());
        var classes = new PortClasses();
        var before = RulesetCompiler.Compile(Rules(Policy(5301)), classes)!;
        var after = RulesetCompiler.Compile(Rules(Policy(5302)), classes)!;

        Assert.Equal(1, after.Peers.Except(before.Peers).Count());
        Assert.Equal(1, after.Ports.Except(before.Ports).Count());
        Assert.Equal(1, before.Ports.Except(after.Ports).Count());
        // The moved rule's port set is a new class: the old class's entries never change while something may point at them.
        var moved = after.Peers.Except(before.Peers).Single();
        Assert.DoesNotContain(moved.PortClass, before.Peers.Select(p => p.PortClass));
    }

    [Fact]
    public void RandomPolicies_LookupAgreesWithTheCompiledPolicy()
    {
        var random = new Random(12);
        for (var round = 0; round < 300; round++)
        {
            var policy = RandomPolicy(random);
            var compiled = Compile(policy);
            foreach (var address in Universe)
                foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp, Protocol.Sctp })
                    for (var port = 1; port <= 12; port++)
                        Assert.True(policy.Allows(address, protocol, port) == Admits(compiled, address, protocol, port),
                            $"round {round}: {address} {protocol}/{port}: policy says {policy.Allows(address, protocol, port)}");
            // Not TCP, UDP or SCTP (ICMP, say): only peers admitted on every port.
            foreach (var address in Universe)
                Assert.Equal(policy.Rules.Any(r => r.Ports is null && (r.Peers is null || r.Peers.Any(p => p.Contains(address)))),
                    Admits(compiled, address, null, 0));
        }
    }

    // 10.0.0.0-10.0.0.15, a far IPv4 address, and a few IPv6 addresses.
    private static readonly IPAddress[] Universe =
        Enumerable.Range(0, 16).Select(i => new IPAddress([10, 0, 0, (byte)i]))
            .Append(IPAddress.Parse("192.168.1.1"))
            .Concat(Enumerable.Range(0, 8).Select(i => IPAddress.Parse($"fd00::{i}")))
            .Append(IPAddress.Parse("2001:db8::1"))
            .ToArray();

    private static DirectionPolicy RandomPolicy(Random random)
    {
        var rules = new List<AllowRule>();
        for (var i = random.Next(0, 5); i > 0; i--)
        {
            List<CidrMatch>? peers = random.Next(6) == 0 ? null : Enumerable.Range(0, random.Next(0, 3)).Select(_ => RandomCidr(random)).ToList();
            List<PortMatch>? ports = random.Next(4) == 0 ? null : Enumerable.Range(0, random.Next(0, 3)).Select(_ => RandomPort(random)).ToList();
            rules.Add(new AllowRule(new RuleOrigin("ns", $"p{i}", 0, peers is null ? null : 0), peers, ports));
        }
        return new DirectionPolicy(true, ["ns/p"], rules);
    }

    private static CidrMatch RandomCidr(Random random)
    {
        if (random.Next(4) == 0)
        {
            var length = random.Next(124, 129);
            return new CidrMatch(new IPNetwork(Mask(IPAddress.Parse($"fd00::{random.Next(8)}"), length), length), []);
        }
        var prefix = random.Next(0, 4) == 0 ? random.Next(0, 9) : random.Next(28, 33);
        var network = new IPNetwork(Mask(new IPAddress([10, 0, 0, (byte)random.Next(16)]), prefix), prefix);
        var excepts = new List<IPNetwork>();
        for (var e = random.Next(0, 3); e > 0; e--)
        {
            var length = random.Next(Math.Max(prefix, 28), 33);
            excepts.Add(new IPNetwork(Mask(new IPAddress([10, 0, 0, (byte)random.Next(16)]), length), length));
        }
        return new CidrMatch(network, excepts);
    }

    private static PortMatch RandomPort(Random random)
    {
        var protocol = (Protocol)random.Next(3);
        if (random.Next(5) == 0)
            return new PortMatch(protocol, null, 0);
        var first = random.Next(1, 12);
        return new PortMatch(protocol, first, random.Next(2) == 0 ? first : random.Next(first, 13));
    }

    private static IPAddress Mask(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    private static CompiledRuleset Compile(DirectionPolicy policy) => RulesetCompiler.Compile(Rules(policy));

    private static DirectionRules Rules(DirectionPolicy policy) =>
        EndpointRules.From(new EndpointPolicy(new EndpointId("ns", "pod"), [IPAddress.Parse("10.9.9.9")], policy, DirectionPolicy.Open)).Ingress!;

    /// <summary>The programs' lookup: longest peer prefix, then (unless any port) the longest port prefix of its class.</summary>
    private static bool Admits(CompiledRuleset compiled, IPAddress address, Protocol? protocol, int port)
    {
        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        UInt128 number = 0;
        foreach (var b in address.GetAddressBytes())
            number = (number << 8) | b;
        var peer = compiled.Peers
            .Where(p => p.Family == address.AddressFamily && Covers(p.Start, p.PrefixLength, number, bits))
            .OrderByDescending(p => p.PrefixLength)
            .Cast<PeerEntry?>()
            .FirstOrDefault();
        if (peer is not { } match)
            return false;
        if (match.AnyPort)
            return true;
        if (protocol is null)
            return false;
        return compiled.Ports.Any(p => p.PortClass == match.PortClass && p.Protocol == protocol && Covers((UInt128)p.Start, p.PrefixLength, (UInt128)port, 16));
    }

    private static bool Covers(UInt128 start, int length, UInt128 value, int bits)
    {
        var hostBits = bits - length;
        var mask = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        return (value & ~mask) == start;
    }
}
