using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Patronus.Agent.Paths.Bandwidth;

/// <summary>One HTB class of a <see cref="ShaperPlan"/>, rates in bytes/s as the kernel takes them.</summary>
/// <param name="Minor">The class id's minor (the major is <see cref="ShaperPlan.QdiscMajor"/>).</param>
/// <param name="Sources">The pod addresses whose packets go in this class (empty for the parent and default classes).</param>
/// <param name="AskedMbps">The pod's minimum as asked, before headroom and scaling (0 for the parent and default classes).</param>
public sealed record ShaperClass(ushort Minor, ulong RateBytesPerSec, ulong CeilBytesPerSec, IReadOnlyList<IPAddress> Sources, double AskedMbps)
{
    /// <summary>
    /// The byte limit of this class's leaf queue (a bfifo with handle minor:0): <see cref="ShaperPlan.LeafQueueDelay"/>
    /// at the ceiling, at least <see cref="ShaperPlan.MinLeafQueueBytes"/>. 0 for the parent, which has no leaf.
    /// </summary>
    public uint LeafQueueBytes => Minor == ShaperPlan.ParentMinor
        ? 0
        : (uint)Math.Clamp(CeilBytesPerSec * (ulong)ShaperPlan.LeafQueueDelay.TotalMilliseconds / 1000, ShaperPlan.MinLeafQueueBytes, uint.MaxValue);

    /// <summary>
    /// The priority of this pod's u32 filter for one family: its own (so each pod's can be removed alone), and
    /// different per family because the kernel holds one protocol per priority.
    /// </summary>
    public ushort FilterPriority(AddressFamily family) =>
        family == AddressFamily.InterNetwork ? Minor : (ushort)(Minor | ShaperPlan.IPv6PriorityBit);
}

/// <summary>
/// The HTB tree on a tunnel's egress that keeps pods' guaranteed minimums while anything else saturates it:
/// <code>
/// 1:   htb, unclassified traffic to 1:2
/// └ 1:1   rate = ceil = usable capacity
///   ├ 1:2    default: rate 5% of usable, ceil usable   (bulk pods, probes, everything unguaranteed), bfifo 2:
///   └ 1:10…  one per guaranteed pod: rate 1.1 × its minimum, ceil usable; u32 filters on its source addresses
///            (IPv4 at priority = minor, IPv6 at minor | 0x8000), bfifo minor:
/// </code>
/// Each leaf's bfifo holds <see cref="LeafQueueDelay"/> at the class's ceiling.
/// <code>
/// </code>
/// Pure: <see cref="Compute"/> has no I/O; <see cref="TunnelShaper"/> makes a device match it.
/// </summary>
public sealed record ShaperPlan(ShaperClass Parent, ShaperClass Default, IReadOnlyList<ShaperClass> Pods, string? Warning)
{
    public const ushort QdiscMajor = 1;
    public const ushort ParentMinor = 1;
    public const ushort DefaultMinor = 2;

    /// <summary>Pod classes start here, clear of the parent and default classes (and read as 1:10 in tc).</summary>
    public const ushort FirstPodMinor = 0x10;

    /// <summary>
    /// The last pod class: a pod's IPv6 filter sits at its minor | <see cref="IPv6PriorityBit"/>, and filter
    /// priorities are 16 bits.
    /// </summary>
    public const ushort LastPodMinor = 0x7FFF;

    /// <summary>
    /// The kernel keeps one protocol per filter priority ("Protocol mismatch for filter with specified priority"),
    /// so a dual-stack pod's IPv4 and IPv6 filters need two priorities: its minor, and its minor with this bit set.
    /// </summary>
    public const ushort IPv6PriorityBit = 0x8000;

    /// <summary>
    /// The share of the link's capacity the tree hands out. On a WireGuard device HTB sees inner packets, but the
    /// link carries them with 60 (IPv4) or 80 (IPv6) bytes more each (outer IP, UDP and WireGuard's 32-byte header):
    /// 4-6% on full-size packets, far more on small ones. Shaping inner traffic to the full capacity would make the
    /// link, not this tree, the bottleneck, and a queue at the link knows nothing of the guarantees. 90% keeps the
    /// queue here, at the cost of a tenth of the capacity when the link is saturated.
    /// </summary>
    public const double UsableShare = 0.9;

    /// <summary>
    /// HTB counts bytes on the wire, users count payload: a class of N Mbit/s carries about 0.96 N of TCP payload
    /// (headers, and TCP's sawtooth under a hard rate; measured in HtbGuaranteeTests), so a minimum of N gets a
    /// class of 1.1 N.
    /// </summary>
    public const double PayloadHeadroom = 1.1;

    /// <summary>
    /// The default class's own rate as a share of the usable capacity. HTB lends spare capacity in proportion to
    /// the classes' rates, so a small rate here means guaranteed pods also get most of what is spare; not zero
    /// because the probes and everything unguaranteed must never starve.
    /// </summary>
    public const double DefaultShare = 0.05;

    /// <summary>
    /// How long a leaf class's queue may be, at the class's ceiling. Left alone, an HTB leaf queues txqueuelen packets
    /// (1000 on a veth, 500 on wireguard-go's TUN; up to 64 KiB each with GSO): behind a saturating bulk pod, the
    /// default class (which also carries the path probes) would hold seconds of traffic and every probe would say the
    /// path is slow. fq_codel or sfq would keep sparse flows ahead, but this kernel has neither (nor codel, pie, cake):
    /// a byte-limited FIFO is what there is.
    /// </summary>
    public static readonly TimeSpan LeafQueueDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Two 64 KiB GSO packets: a bfifo smaller than one would drop every one of them.</summary>
    public const uint MinLeafQueueBytes = 128 * 1024;

    /// <summary>The largest capacity taken (1 Tbit/s): a bigger figure is a unit mistake.</summary>
    public const double MaxCapacityMbps = 1_000_000;

    private const double BytesPerSecondPerMbps = 1_000_000 / 8.0;

    /// <summary>
    /// The tree for a device of <paramref name="capacityMbps"/> carrying <paramref name="guarantees"/>, or null
    /// when there are none (no tree at all: the device's egress is left unshaped). When the guarantees (with
    /// headroom) add up to more than the capacity leaves for them, each is scaled down by the same factor and
    /// <see cref="Warning"/> says so. <paramref name="currentMinors"/> (a pod address's class minor on the device
    /// now) keeps a pod in the class it has, so a pod joining or leaving changes nothing for the others.
    /// </summary>
    public static ShaperPlan? Compute(double capacityMbps, IReadOnlyList<BandwidthGuarantee> guarantees, IReadOnlyDictionary<IPAddress, ushort>? currentMinors = null)
    {
        ArgumentNullException.ThrowIfNull(guarantees);
        if (!double.IsFinite(capacityMbps) || capacityMbps <= 0 || capacityMbps > MaxCapacityMbps)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityMbps), capacityMbps, $"a device's capacity must be a number of Mbit/s above 0 and at most {MaxCapacityMbps:0}");
        }

        var pods = Normalize(guarantees);
        if (pods.Count == 0)
        {
            return null;
        }

        if (pods.Count > LastPodMinor - FirstPodMinor + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(guarantees), pods.Count, $"at most {LastPodMinor - FirstPodMinor + 1} guaranteed pods fit one device's classes");
        }

        var usable = ToBytes(capacityMbps * UsableShare);
        var defaultRate = Math.Max(1, ToBytes(capacityMbps * UsableShare * DefaultShare));
        var budget = usable - defaultRate;
        var wanted = pods.Select(p => p.MinMbps * PayloadHeadroom * BytesPerSecondPerMbps).ToArray();
        var total = wanted.Sum();
        string? warning = null;
        var factor = 1.0;
        if (total > budget)
        {
            factor = budget / total;
            var asked = pods.Sum(p => p.MinMbps);
            warning = string.Create(CultureInfo.InvariantCulture,
                $"guaranteed minimums add up to {asked:0.###} Mbit/s ({total / BytesPerSecondPerMbps:0.###} with {PayloadHeadroom}× headroom) on a {capacityMbps:0.###} Mbit/s device, which leaves {budget / BytesPerSecondPerMbps:0.###} Mbit/s for them; each of the {pods.Count} is scaled to {factor * 100:0.#}% of its minimum");
        }

        var minors = AssignMinors(pods, currentMinors);
        var classes = new List<ShaperClass>(pods.Count);
        for (var i = 0; i < pods.Count; i++)
        {
            var rate = Math.Clamp((ulong)Math.Floor(wanted[i] * factor), 1, usable);
            classes.Add(new ShaperClass(minors[i], rate, usable, pods[i].Addresses, pods[i].MinMbps));
        }

        classes.Sort((a, b) => a.Minor.CompareTo(b.Minor));
        return new ShaperPlan(
            new ShaperClass(ParentMinor, usable, usable, [], 0),
            new ShaperClass(DefaultMinor, defaultRate, usable, [], 0),
            classes,
            warning);
    }

    private static ulong ToBytes(double mbps) => (ulong)Math.Floor(mbps * BytesPerSecondPerMbps);

    /// <summary>Checks every guarantee, maps IPv4-mapped IPv6 addresses to IPv4 and sorts each pod's addresses.</summary>
    private static List<BandwidthGuarantee> Normalize(IReadOnlyList<BandwidthGuarantee> guarantees)
    {
        var seen = new Dictionary<IPAddress, int>();
        var pods = new List<BandwidthGuarantee>(guarantees.Count);
        for (var i = 0; i < guarantees.Count; i++)
        {
            var guarantee = guarantees[i] ?? throw new ArgumentNullException($"{nameof(guarantees)}[{i}]", "a guarantee is null");
            if (!double.IsFinite(guarantee.MinMbps) || guarantee.MinMbps <= 0 || guarantee.MinMbps > MaxCapacityMbps)
            {
                throw new ArgumentOutOfRangeException($"{nameof(guarantees)}[{i}].{nameof(BandwidthGuarantee.MinMbps)}", guarantee.MinMbps, $"a guaranteed minimum must be a number of Mbit/s above 0 and at most {MaxCapacityMbps:0} ({guarantee})");
            }

            if (guarantee.Addresses is not { Count: > 0 })
            {
                throw new ArgumentException($"guarantee of {guarantee.MinMbps} Mbit/s has no pod address", $"{nameof(guarantees)}[{i}].{nameof(BandwidthGuarantee.Addresses)}");
            }

            var addresses = new List<IPAddress>(guarantee.Addresses.Count);
            foreach (var raw in guarantee.Addresses)
            {
                if (raw is null || (raw.AddressFamily != AddressFamily.InterNetwork && raw.AddressFamily != AddressFamily.InterNetworkV6))
                {
                    throw new ArgumentException($"guarantee {guarantee}: {raw?.ToString() ?? "null"} is not an IPv4 or IPv6 address", $"{nameof(guarantees)}[{i}].{nameof(BandwidthGuarantee.Addresses)}");
                }

                var address = raw.IsIPv4MappedToIPv6 ? raw.MapToIPv4() : raw.AddressFamily == AddressFamily.InterNetworkV6 && raw.ScopeId != 0 ? new IPAddress(raw.GetAddressBytes()) : raw;
                if (seen.TryGetValue(address, out var other))
                {
                    if (other == i)
                    {
                        continue;
                    }

                    throw new ArgumentException($"pod address {address} is in two guarantees ({guarantees[other]} and {guarantee}); each address belongs to one pod", $"{nameof(guarantees)}[{i}].{nameof(BandwidthGuarantee.Addresses)}");
                }

                seen[address] = i;
                addresses.Add(address);
            }

            addresses.Sort(CompareAddresses);
            pods.Add(new BandwidthGuarantee(addresses, guarantee.MinMbps));
        }

        // In address order, so the plan (down to floating-point sums) does not depend on the caller's order.
        pods.Sort((a, b) => CompareAddresses(a.Addresses[0], b.Addresses[0]));
        return pods;
    }

    /// <summary>
    /// A pod keeps the minor one of its addresses has now (the first such in address order, if no other pod took it
    /// first); the others get the lowest free minors, in the order of their first address.
    /// </summary>
    private static ushort[] AssignMinors(List<BandwidthGuarantee> pods, IReadOnlyDictionary<IPAddress, ushort>? current)
    {
        var minors = new ushort[pods.Count];
        var taken = new HashSet<ushort>();
        if (current is not null)
        {
            for (var i = 0; i < pods.Count; i++)
            {
                foreach (var address in pods[i].Addresses)
                {
                    if (current.TryGetValue(address, out var minor) && minor is >= FirstPodMinor and <= LastPodMinor && taken.Add(minor))
                    {
                        minors[i] = minor;
                        break;
                    }
                }
            }
        }

        var next = FirstPodMinor;
        for (var i = 0; i < pods.Count; i++)
        {
            if (minors[i] != 0)
            {
                continue;
            }

            while (taken.Contains(next))
            {
                next++;
            }

            minors[i] = next;
            taken.Add(next);
        }

        return minors;
    }

    /// <summary>IPv4 before IPv6, then by bytes: a stable order independent of the caller's.</summary>
    internal static int CompareAddresses(IPAddress? a, IPAddress? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null || b is null)
        {
            return a is null ? -1 : 1;
        }

        var family = a.AddressFamily.CompareTo(b.AddressFamily);
        return family != 0 ? family : a.GetAddressBytes().AsSpan().SequenceCompareTo(b.GetAddressBytes());
    }
}
