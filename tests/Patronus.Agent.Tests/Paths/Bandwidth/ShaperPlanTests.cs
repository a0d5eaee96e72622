using System.Net;
using Patronus.Agent.Paths.Bandwidth;

namespace Patronus.Agent.Tests.Paths.Bandwidth;

public sealed class ShaperPlanTests
{
    private const double BytesPerMbps = 125_000;

    private static BandwidthGuarantee Pod(string address, double minMbps) => new(IPAddress.Parse(address), minMbps);

    [Fact]
    public void NoGuarantees_NoTree()
    {
        Assert.Null(ShaperPlan.Compute(50, []));
        Assert.Null(ShaperPlan.Compute(50, [], new Dictionary<IPAddress, ushort> { [IPAddress.Parse("10.0.0.1")] = 0x10 }));
    }

    [Fact]
    public void OnePod_ParentAtNinetyPercent_PodAtItsMinimumWithHeadroom_DefaultSmall_AllCeilingTheParent()
    {
        var plan = ShaperPlan.Compute(50, [Pod("10.1.0.2", 10)])!;

        Assert.Equal((1, 5_625_000UL, 5_625_000UL, 0), ((int)plan.Parent.Minor, plan.Parent.RateBytesPerSec, plan.Parent.CeilBytesPerSec, plan.Parent.Sources.Count));
        Assert.Equal((ushort)2, plan.Default.Minor);
        Assert.Equal(281_250UL, plan.Default.RateBytesPerSec); // 5% of 45 Mbit/s
        Assert.Equal(5_625_000UL, plan.Default.CeilBytesPerSec);
        var pod = Assert.Single(plan.Pods);
        Assert.Equal((ushort)0x10, pod.Minor);
        Assert.Equal((ushort)0x10, pod.FilterPriority(System.Net.Sockets.AddressFamily.InterNetwork));
        Assert.Equal((ushort)0x8010, pod.FilterPriority(System.Net.Sockets.AddressFamily.InterNetworkV6));
        Assert.Equal((ulong)(10 * 1.1 * BytesPerMbps), pod.RateBytesPerSec);
        Assert.Equal(5_625_000UL, pod.CeilBytesPerSec);
        Assert.Equal([IPAddress.Parse("10.1.0.2")], pod.Sources);
        Assert.Equal(10, pod.AskedMbps);
        Assert.Null(plan.Warning);
    }

    [Fact]
    public void LeafQueues_FiftyMillisecondsAtTheCeiling_AtLeastTwoGsoPackets_NoneForTheParent()
    {
        var plan = ShaperPlan.Compute(50, [Pod("10.1.0.2", 10)])!;
        Assert.Equal(0u, plan.Parent.LeafQueueBytes);
        Assert.Equal(281_250u, plan.Default.LeafQueueBytes);
        Assert.Equal(281_250u, plan.Pods[0].LeafQueueBytes);

        var small = ShaperPlan.Compute(5, [Pod("10.1.0.2", 1)])!;
        Assert.Equal(ShaperPlan.MinLeafQueueBytes, small.Default.LeafQueueBytes);

        var huge = ShaperPlan.Compute(ShaperPlan.MaxCapacityMbps, [Pod("10.1.0.2", 1)])!;
        Assert.Equal(uint.MaxValue, huge.Default.LeafQueueBytes); // 50 ms of 900 Gbit/s is past a u32: capped
    }

    [Fact]
    public void GuaranteesThatFit_AreNotScaled_EvenWhenTheyFillTheBudgetExactly()
    {
        // Budget = 45 × 0.95 = 42.75 Mbit/s of class rate = 38.863636… Mbit/s of minimums.
        var plan = ShaperPlan.Compute(50, [Pod("10.1.0.2", 20), Pod("10.1.0.3", 42.75 / 1.1 - 20)])!;
        Assert.Null(plan.Warning);
        Assert.Equal((ulong)(20 * 1.1 * BytesPerMbps), plan.Pods[0].RateBytesPerSec);
    }

    [Fact]
    public void GuaranteesOverTheCapacity_ScaledProportionally_AndReported()
    {
        var plan = ShaperPlan.Compute(50, [Pod("10.1.0.2", 30), Pod("10.1.0.3", 10), Pod("fd00::4", 20)])!;

        var budget = plan.Parent.RateBytesPerSec - plan.Default.RateBytesPerSec;
        var rates = plan.Pods.Select(p => p.RateBytesPerSec).ToArray();
        Assert.InRange(rates.Sum(r => (double)r), budget - 3, budget);
        Assert.Equal(3.0, (double)rates[0] / rates[1], 3);
        Assert.Equal(2.0, (double)rates[2] / rates[1], 3);
        Assert.NotNull(plan.Warning);
        Assert.Contains("add up to 60 Mbit/s", plan.Warning);
        Assert.Contains("on a 50 Mbit/s device", plan.Warning);
        Assert.Contains("leaves 42.75 Mbit/s", plan.Warning);
        Assert.Contains("each of the 3 is scaled to 64.8%", plan.Warning);
    }

    [Fact]
    public void DualStackPod_OneClass_BothAddresses_IPv4First()
    {
        var plan = ShaperPlan.Compute(100, [new BandwidthGuarantee([IPAddress.Parse("fd00::2"), IPAddress.Parse("10.1.0.2")], 5)])!;
        var pod = Assert.Single(plan.Pods);
        Assert.Equal([IPAddress.Parse("10.1.0.2"), IPAddress.Parse("fd00::2")], pod.Sources);
    }

    [Fact]
    public void Addresses_Normalized_MappedIPv4AndScopeAndRepeats()
    {
        var plan = ShaperPlan.Compute(100, [new BandwidthGuarantee([IPAddress.Parse("::ffff:10.1.0.2"), IPAddress.Parse("10.1.0.2"), IPAddress.Parse("fe80::1%3")], 5)])!;
        Assert.Equal([IPAddress.Parse("10.1.0.2"), IPAddress.Parse("fe80::1")], plan.Pods[0].Sources);
        Assert.Equal(0, plan.Pods[0].Sources[1].ScopeId);
    }

    [Fact]
    public void Minors_InAddressOrder_IndependentOfInputOrder()
    {
        var a = ShaperPlan.Compute(100, [Pod("10.1.0.9", 1), Pod("fd00::1", 2), Pod("10.1.0.3", 3)])!;
        var b = ShaperPlan.Compute(100, [Pod("fd00::1", 2), Pod("10.1.0.3", 3), Pod("10.1.0.9", 1)])!;
        Assert.Equal(a, b, new PlanComparer());
        Assert.Equal(["10.1.0.3", "10.1.0.9", "fd00::1"], a.Pods.Select(p => p.Sources[0].ToString()));
        Assert.Equal([0x10, 0x11, 0x12], a.Pods.Select(p => (int)p.Minor));
    }

    [Fact]
    public void CurrentMinors_AreKept_SoAPodLeavingMovesNoOther()
    {
        var before = ShaperPlan.Compute(100, [Pod("10.1.0.1", 1), Pod("10.1.0.2", 1), Pod("10.1.0.3", 1)])!;
        var current = before.Pods.ToDictionary(p => p.Sources[0], p => p.Minor);

        var after = ShaperPlan.Compute(100, [Pod("10.1.0.1", 1), Pod("10.1.0.3", 1), Pod("10.1.0.4", 1)], current)!;

        Assert.Equal(0x10, after.Pods.Single(p => p.Sources[0].Equals(IPAddress.Parse("10.1.0.1"))).Minor);
        Assert.Equal(0x12, after.Pods.Single(p => p.Sources[0].Equals(IPAddress.Parse("10.1.0.3"))).Minor);
        Assert.Equal(0x11, after.Pods.Single(p => p.Sources[0].Equals(IPAddress.Parse("10.1.0.4"))).Minor); // the freed minor, lowest first
        Assert.Equal(after.Pods.OrderBy(p => p.Minor), after.Pods);
    }

    [Fact]
    public void CurrentMinors_Conflicting_FirstPodInAddressOrderKeepsIt_ParentAndDefaultMinorsNeverReused()
    {
        var current = new Dictionary<IPAddress, ushort>
        {
            [IPAddress.Parse("10.1.0.1")] = 0x20,
            [IPAddress.Parse("fd00::2")] = 0x20, // the same minor claimed by another pod's address: only one keeps it
            [IPAddress.Parse("10.1.0.3")] = 2,   // the default class's minor is never a pod's
            [IPAddress.Parse("fd00::1")] = 0x8000, // nor one whose IPv6 filter priority would not fit 16 bits
        };
        var plan = ShaperPlan.Compute(100, [Pod("fd00::2", 1), Pod("fd00::1", 1), Pod("10.1.0.1", 1), Pod("10.1.0.3", 1)], current)!;
        Assert.Equal(0x20, plan.Pods.Single(p => p.Sources[0].ToString() == "10.1.0.1").Minor);
        Assert.Equal(0x10, plan.Pods.Single(p => p.Sources[0].ToString() == "10.1.0.3").Minor);
        Assert.Equal(0x11, plan.Pods.Single(p => p.Sources[0].ToString() == "fd00::1").Minor);
        Assert.Equal(0x12, plan.Pods.Single(p => p.Sources[0].ToString() == "fd00::2").Minor);
    }

    [Fact]
    public void DualStackPod_KeepsTheMinorOfEitherAddress()
    {
        var current = new Dictionary<IPAddress, ushort> { [IPAddress.Parse("fd00::2")] = 0x33 };
        var plan = ShaperPlan.Compute(100, [new BandwidthGuarantee([IPAddress.Parse("10.1.0.2"), IPAddress.Parse("fd00::2")], 5)], current)!;
        Assert.Equal(0x33, plan.Pods[0].Minor);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1_000_001)]
    public void BadCapacity_RefusedNamingIt(double capacity)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ShaperPlan.Compute(capacity, [Pod("10.1.0.2", 1)]));
        Assert.Equal("capacityMbps", error.ParamName);
        Assert.Equal("capacityMbps", Assert.Throws<ArgumentOutOfRangeException>(() => ShaperPlan.Compute(capacity, [])).ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void BadMinimum_RefusedNamingTheGuarantee(double minimum)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ShaperPlan.Compute(50, [Pod("10.1.0.1", 1), Pod("10.1.0.2", minimum)]));
        Assert.Equal("guarantees[1].MinMbps", error.ParamName);
        Assert.Contains("10.1.0.2", error.Message);
    }

    [Fact]
    public void BadAddresses_RefusedNamingTheGuarantee()
    {
        Assert.Equal("guarantees[0].Addresses", Assert.Throws<ArgumentException>(() => ShaperPlan.Compute(50, [new BandwidthGuarantee([], 1)])).ParamName);
        Assert.Equal("guarantees[0].Addresses", Assert.Throws<ArgumentException>(() => ShaperPlan.Compute(50, [new BandwidthGuarantee((IReadOnlyList<IPAddress>)null!, 1)])).ParamName);
        Assert.Equal("guarantees[0].Addresses", Assert.Throws<ArgumentException>(() => ShaperPlan.Compute(50, [new BandwidthGuarantee([null!], 1)])).ParamName);
        var twice = Assert.Throws<ArgumentException>(() => ShaperPlan.Compute(50, [Pod("10.1.0.1", 1), Pod("10.1.0.1", 2)]));
        Assert.Equal("guarantees[1].Addresses", twice.ParamName);
        Assert.Contains("10.1.0.1 is in two guarantees", twice.Message);
        Assert.Equal("guarantees[1]", Assert.Throws<ArgumentNullException>(() => ShaperPlan.Compute(50, [Pod("10.1.0.1", 1), null!])).ParamName);
        Assert.Throws<ArgumentNullException>(() => ShaperPlan.Compute(50, null!));
    }

    [Fact]
    public void AsManyPodsAsMinors_Fit_OneMoreRefused()
    {
        var most = ShaperPlan.LastPodMinor - ShaperPlan.FirstPodMinor + 1;
        var pods = Enumerable.Range(0, most + 1).Select(i => Pod($"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 0.001)).ToList();

        var plan = ShaperPlan.Compute(1000, pods[..most])!;
        Assert.Equal(ShaperPlan.LastPodMinor, plan.Pods[^1].Minor);
        Assert.Equal("guarantees", Assert.Throws<ArgumentOutOfRangeException>(() => ShaperPlan.Compute(1000, pods)).ParamName);
    }

    [Fact]
    public void TinyGuaranteesAndTinyCapacity_StillPositiveRates()
    {
        var plan = ShaperPlan.Compute(0.001, [Pod("10.1.0.1", 0.000001), Pod("10.1.0.2", 1000)])!;
        Assert.All(plan.Pods, p => Assert.InRange(p.RateBytesPerSec, 1UL, p.CeilBytesPerSec));
        Assert.InRange(plan.Default.RateBytesPerSec, 1UL, plan.Parent.RateBytesPerSec);
        Assert.NotNull(plan.Warning);
    }

    /// <summary>
    /// Random inputs (fixed seed): every plan keeps the invariants the kernel and the guarantee rely on, and the
    /// same input in another order gives the same plan.
    /// </summary>
    [Fact]
    public void RandomInputs_KeepTheInvariants()
    {
        var random = new Random(20261202);
        for (var round = 0; round < 2000; round++)
        {
            var capacity = Math.Round(Math.Pow(10, random.NextDouble() * 5 - 1), 3); // 0.1 Mbit/s to 10 Gbit/s
            var count = random.Next(1, 40);
            var guarantees = Enumerable.Range(0, count).Select(i =>
            {
                var v4 = IPAddress.Parse($"10.{i / 250}.{i % 250}.{random.Next(1, 250)}");
                var v6 = IPAddress.Parse($"fd00::{i:x}:{random.Next(1, 9999):x}");
                IPAddress[] addresses = random.Next(3) switch { 0 => [v4], 1 => [v6], _ => [v6, v4] };
                return new BandwidthGuarantee(addresses, Math.Round(random.NextDouble() * capacity / 3 + 0.001, 3));
            }).ToList();
            var current = random.Next(2) == 0 ? null : guarantees.SelectMany(g => g.Addresses).Where(_ => random.Next(3) == 0).ToDictionary(a => a, _ => (ushort)random.Next(0, 0x40));

            var plan = ShaperPlan.Compute(capacity, guarantees, current)!;

            Assert.Equal(count, plan.Pods.Count);
            Assert.Equal(plan.Parent.RateBytesPerSec, plan.Parent.CeilBytesPerSec);
            Assert.InRange(plan.Parent.RateBytesPerSec, (ulong)(capacity * 0.9 * BytesPerMbps) - 1, (ulong)(capacity * 0.9 * BytesPerMbps));
            Assert.Equal(plan.Parent.RateBytesPerSec, plan.Default.CeilBytesPerSec);
            var guaranteedSum = plan.Pods.Sum(p => (double)p.RateBytesPerSec);
            // Rates are at least 1 byte/s each, which may overshoot a microscopic budget by that much.
            Assert.True(guaranteedSum + plan.Default.RateBytesPerSec <= plan.Parent.RateBytesPerSec + (ulong)count, $"round {round}: classes' rates exceed the parent's");
            Assert.Equal(plan.Pods.Count, plan.Pods.Select(p => p.Minor).Distinct().Count());
            Assert.All(plan.Pods, p =>
            {
                Assert.True(p.Minor >= ShaperPlan.FirstPodMinor);
                Assert.Equal(plan.Parent.RateBytesPerSec, p.CeilBytesPerSec);
                Assert.InRange(p.RateBytesPerSec, 1UL, p.CeilBytesPerSec);
                Assert.True(p.RateBytesPerSec <= (ulong)Math.Ceiling(p.AskedMbps * 1.1 * BytesPerMbps), "a pod never gets a class above what it asked");
            });
            var wanted = guarantees.Sum(g => g.MinMbps * 1.1 * BytesPerMbps);
            var budget = plan.Parent.RateBytesPerSec - plan.Default.RateBytesPerSec;
            Assert.Equal(wanted > budget, plan.Warning is not null);
            if (plan.Warning is null)
            {
                Assert.All(plan.Pods, p => Assert.Equal((ulong)Math.Floor(p.AskedMbps * 1.1 * BytesPerMbps), p.RateBytesPerSec));
            }

            if (current is not null)
            {
                // A kept minor is one that address had; each pod with a usable old minor that no earlier pod took keeps one.
                foreach (var pod in plan.Pods.Where(p => p.Sources.Any(a => current.ContainsKey(a) && current[a] == p.Minor)))
                {
                    Assert.Contains(pod.Sources, a => current.TryGetValue(a, out var m) && m == pod.Minor);
                }
            }

            var shuffled = guarantees.OrderBy(_ => random.Next()).ToList();
            Assert.Equal(plan, ShaperPlan.Compute(capacity, shuffled, current), new PlanComparer());
        }
    }

    private sealed class PlanComparer : IEqualityComparer<ShaperPlan?>
    {
        public bool Equals(ShaperPlan? x, ShaperPlan? y) =>
            x is not null && y is not null && x.Warning == y.Warning && Same(x.Parent, y.Parent) && Same(x.Default, y.Default)
            && x.Pods.Count == y.Pods.Count && x.Pods.Zip(y.Pods).All(p => Same(p.First, p.Second));

        public int GetHashCode(ShaperPlan? plan) => 0;

        private static bool Same(ShaperClass a, ShaperClass b) =>
            (a.Minor, a.RateBytesPerSec, a.CeilBytesPerSec, a.AskedMbps) == (b.Minor, b.RateBytesPerSec, b.CeilBytesPerSec, b.AskedMbps) && a.Sources.SequenceEqual(b.Sources);
    }
}
