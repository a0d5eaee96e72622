using System.Net;
using System.Net.Sockets;

namespace Patronus.Agent.Datapath.Nftables;

/// <summary>
/// An inclusive range of addresses of one family, as an nftables interval set element. Sets with
/// <c>flags interval</c> reject overlapping elements, so everything rendered is first made disjoint here.
/// </summary>
internal readonly record struct AddressInterval(AddressFamily Family, UInt128 First, UInt128 Last) : IComparable<AddressInterval>
{
    public static AddressInterval Everything(AddressFamily family) =>
        new(family, UInt128.Zero, family == AddressFamily.InterNetwork ? uint.MaxValue : UInt128.MaxValue);

    public static AddressInterval Of(IPNetwork network)
    {
        var family = network.BaseAddress.AddressFamily;
        var bits = family == AddressFamily.InterNetwork ? 32 : 128;
        var first = ToNumber(network.BaseAddress);
        var hostBits = bits - network.PrefixLength;
        var hostMask = hostBits == 0 ? UInt128.Zero : hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        first &= ~hostMask;
        return new AddressInterval(family, first, first | hostMask);
    }

    public static AddressInterval Of(IPAddress address)
    {
        var n = ToNumber(address);
        return new AddressInterval(address.AddressFamily, n, n);
    }

    /// <summary>A CIDR minus its excepted CIDRs (NetworkPolicy ipBlock.except), as disjoint sorted intervals.</summary>
    public static List<AddressInterval> Subtract(IPNetwork network, IEnumerable<IPNetwork> excepts)
    {
        var result = new List<AddressInterval> { Of(network) };
        foreach (var except in excepts)
        {
            if (except.BaseAddress.AddressFamily != network.BaseAddress.AddressFamily)
                continue;
            var cut = Of(except);
            var next = new List<AddressInterval>(result.Count + 1);
            foreach (var piece in result)
            {
                if (cut.Last < piece.First || cut.First > piece.Last)
                {
                    next.Add(piece);
                    continue;
                }
                if (cut.First > piece.First)
                    next.Add(piece with { Last = cut.First - 1 });
                if (cut.Last < piece.Last)
                    next.Add(piece with { First = cut.Last + 1 });
            }
            result = next;
        }
        return result;
    }

    /// <summary>Sorts and merges overlapping or adjacent intervals (all of one family).</summary>
    public static List<AddressInterval> Union(IEnumerable<AddressInterval> intervals)
    {
        var sorted = intervals.ToList();
        sorted.Sort();
        var merged = new List<AddressInterval>(sorted.Count);
        foreach (var interval in sorted)
        {
            if (merged.Count > 0)
            {
                var last = merged[^1];
                if (last.Last == MaxOf(last.Family) || interval.First <= last.Last + 1)
                {
                    if (interval.Last > last.Last)
                        merged[^1] = last with { Last = interval.Last };
                    continue;
                }
            }
            merged.Add(interval);
        }
        return merged;
    }

    public int CompareTo(AddressInterval other)
    {
        var byFirst = First.CompareTo(other.First);
        return byFirst != 0 ? byFirst : Last.CompareTo(other.Last);
    }

    /// <summary>nft syntax: a single address, or first-last.</summary>
    public override string ToString() =>
        First == Last ? ToAddress(Family, First).ToString() : $"{ToAddress(Family, First)}-{ToAddress(Family, Last)}";

    private static UInt128 MaxOf(AddressFamily family) => family == AddressFamily.InterNetwork ? uint.MaxValue : UInt128.MaxValue;

    private static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        UInt128 n = 0;
        for (var i = 0; i < written; i++)
            n = (n << 8) | bytes[i];
        return n;
    }

    private static IPAddress ToAddress(AddressFamily family, UInt128 n)
    {
        var length = family == AddressFamily.InterNetwork ? 4 : 16;
        var bytes = new byte[length];
        for (var i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(n & 0xff);
            n >>= 8;
        }
        return new IPAddress(bytes);
    }
}
