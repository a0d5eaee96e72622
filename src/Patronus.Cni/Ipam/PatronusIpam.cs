using System.Net;
using Patronus.Cni.Ipam.Store;
using Patronus.Cni.Spec;
using Patronus.Netlink.Interop;

namespace Patronus.Cni.Ipam;

/// <summary>
/// The built-in IPAM (<c>"type": "patronus-ipam"</c>): host-local's semantics over a store that is safe for many
/// plugin processes at once, costs a few syscalls per call, and is consistent after a kill at any point
/// (see <see cref="AllocationStore"/> for the layout on disk and why it is crash safe).
/// </summary>
public sealed class PatronusIpam(IpamConfig config)
{
    private readonly AllocationStore _store = new(config.NetworkDirectory);

    public IpamConfig Config { get; } = config;

    internal AllocationStore Store => _store;

    /// <summary>
    /// Allocates one address per range set to the attachment, or returns what it already holds: a repeated ADD
    /// (or one retried after a crash) gets the same addresses, and completes a lease an interrupted ADD left
    /// partial. <paramref name="requested"/> (runtimeConfig <c>ips</c>) picks the address in the range sets they
    /// fall in; the other sets allocate as usual. A set in which the attachment already holds an address keeps it.
    /// </summary>
    /// <remarks>
    /// A range set with no free address is <see cref="CniErrorCode.TryAgainLater"/>, and so is a requested address
    /// that another attachment holds. host-local returns a plain error (code 999 once wrapped); of the spec's
    /// codes, 11 ("a transient condition that should clear up; re-try later") is the one that fits: the config
    /// is valid (so not 7), storage works (so not 5), and the condition clears as pods are deleted or GC frees
    /// stale claims. Kubelet retries sandbox creation either way; the message says which range set is full.
    /// </remarks>
    public IpamLease Allocate(string containerId, string ifName, IReadOnlyList<IPAddress>? requested)
    {
        var key = new AttachmentKey(containerId, ifName);
        var wanted = AssignRequested(requested);

        using var lockFile = _store.Lock(exclusive: true);
        var leased = new IPAddress?[Config.RangeSets.Count];
        var hasIntent = new bool[leased.Length];
        for (var set = 0; set < leased.Length; set++)
            if (_store.ReadIntent(key, set) is { } intent)
            {
                hasIntent[set] = true;
                if (_store.ReadClaim(intent.Address).IsOwnedBy(key) && Config.Locate(intent.Address)?.Set == set)
                    leased[set] = intent.Address;
            }

        var chosen = new List<(int Set, IPAddress Address)>();
        for (var set = 0; set < leased.Length; set++)
        {
            if (leased[set] is not null)
                continue;
            var address = wanted[set] is { } request ? CheckRequestedFree(request) : FindFree(lockFile, set);
            chosen.Add((set, address ?? throw Exhausted(set)));
        }

        var claimed = new List<IPAddress>();
        foreach (var (set, address) in chosen)
        {
            // The intent goes first: whatever a kill interrupts after it, DEL or a retried ADD finds the claim.
            _store.WriteIntent(key, set, address, replace: hasIntent[set]);
            if (!_store.TryClaim(key, set, address))
            {
                // Every writer holds the lock and probed before claiming, so only a process ignoring the lock
                // gets here. Undo this call's claims so the error leaves nothing behind.
                foreach (var undo in claimed)
                    _store.ReleaseClaim(undo);
                throw new CniException(CniErrorCode.TryAgainLater,
                    $"ipam: address {address} was claimed by another process while {_store.Directory} was locked; retry");
            }
            claimed.Add(address);
            leased[set] = address;
        }
        foreach (var (set, address) in chosen)
            if (wanted[set] is null)
                _store.WriteCursor(lockFile, set, address);
        return LeaseOf(leased!);
    }

    /// <summary>
    /// Frees the attachment's addresses. An attachment with nothing allocated is success (DEL is idempotent).
    /// Intents are found by range set number, so a claim in a range set the config no longer has is left to GC.
    /// </summary>
    public void Release(string containerId, string ifName)
    {
        var key = new AttachmentKey(containerId, ifName);
        using var lockFile = _store.Lock(exclusive: true);
        for (var set = 0; set < Config.RangeSets.Count; set++)
        {
            if (_store.ReadIntent(key, set) is not { } intent)
                continue;
            if (_store.ReadClaim(intent.Address).IsOwnedBy(key))
                _store.ReleaseClaim(intent.Address);
            _store.DeleteIntent(key, set);
        }
    }

    /// <summary>The attachment's lease if it holds an address in every range set (what CHECK expects), else null.</summary>
    public IpamLease? Find(string containerId, string ifName)
    {
        var key = new AttachmentKey(containerId, ifName);
        using var lockFile = _store.Lock(exclusive: false);
        var leased = new IPAddress[Config.RangeSets.Count];
        for (var set = 0; set < leased.Length; set++)
        {
            if (_store.ReadIntent(key, set) is not { } intent || !_store.ReadClaim(intent.Address).IsOwnedBy(key)
                || Config.Locate(intent.Address)?.Set != set)
                return null;
            leased[set] = intent.Address;
        }
        return LeaseOf(leased);
    }

    /// <summary>
    /// GC (SPEC.md, "GC: Clean up any stale resources"): frees every claim whose attachment is not in
    /// <paramref name="valid"/>, removes what interrupted operations left (intents without their claim, entries
    /// the store did not write), and gives each claim of a valid attachment its intent back. This walks the
    /// whole store, which is fine for GC and is never done by ADD or DEL. A claim of a valid attachment is kept
    /// even if its intent was lost: freeing an address a live container may use would let it be allocated twice.
    /// </summary>
    public GcReport Collect(IReadOnlySet<(string ContainerId, string IfName)> valid)
    {
        var validKeys = new HashSet<AttachmentKey>();
        foreach (var (containerId, ifName) in valid)
            if (AttachmentKey.ParseRecord($"{containerId}\n{ifName}\n", out _) is { } key && key.ContainerId == containerId && key.IfName == ifName)
                validKeys.Add(key);

        using var lockFile = _store.Lock(exclusive: true);
        int released = 0, repaired = 0;
        var kept = new Dictionary<IPAddress, AttachmentKey>();
        foreach (var (name, address, claim) in _store.ReadAllClaims())
        {
            if (claim.State != ClaimState.Owned)
            {
                _store.DeleteAddressEntry(name);
                repaired++;
            }
            else if (!validKeys.Contains(claim.Owner!.Value))
            {
                _store.DeleteAddressEntry(name);
                released++;
            }
            else
            {
                kept.Add(address!, claim.Owner.Value);
            }
        }

        var indexed = new HashSet<IPAddress>();
        foreach (var (name, _, record) in _store.ReadAllIntents())
        {
            if (record is not null && kept.TryGetValue(record.Address, out var owner) && owner == record.Owner)
            {
                indexed.Add(record.Address);
                continue;
            }
            _store.DeleteIntentEntry(name);
            // The intent of an attachment freed above is part of that release; anything else was left behind.
            if (record is null || validKeys.Contains(record.Owner))
                repaired++;
        }

        // Claims whose intent is gone: only a power loss leaves these.
        foreach (var (address, owner) in kept)
            if (!indexed.Contains(address) && Config.Locate(address) is { } at && _store.ReadIntent(owner, at.Set) is null)
            {
                _store.WriteIntent(owner, at.Set, address, replace: true);
                repaired++;
            }
        return new GcReport(released, repaired);
    }

    /// <summary>For STATUS: the data folder is usable and every range set has a free address.</summary>
    public IpamStatus Status()
    {
        try
        {
            using var lockFile = _store.Lock(exclusive: false);
            for (var set = 0; set < Config.RangeSets.Count; set++)
                if (FindFree(lockFile, set) is null)
                    return new IpamStatus(false, $"ipam: range set {set} ({Config.RangeSets[set]}) has no free address");
            return new IpamStatus(true, null);
        }
        catch (CniException e) when (e.Code == CniErrorCode.IoFailure)
        {
            return new IpamStatus(false, e.Message);
        }
    }

    /// <summary>Sorts requested addresses into their range sets; one outside every set, or two in one set, is an error.</summary>
    private IPAddress?[] AssignRequested(IReadOnlyList<IPAddress>? requested)
    {
        var wanted = new IPAddress?[Config.RangeSets.Count];
        if (requested is null)
            return wanted;
        foreach (var raw in requested)
        {
            var address = raw.IsIPv4MappedToIPv6 ? raw.MapToIPv4() : raw;
            if (Config.Locate(address) is not { } at)
                throw new CniException(CniErrorCode.InvalidNetworkConfig,
                    $"runtimeConfig.ips: {address} is not inside any range of network \"{Config.NetworkName}\" ({string.Join("; ", Config.RangeSets)})");
            if (AddressText.ToNumber(address) == at.Range.GatewayNumber)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"runtimeConfig.ips: {address} is the gateway of {at.Range.Path}");
            if (wanted[at.Set] is { } other)
                throw new CniException(CniErrorCode.InvalidNetworkConfig,
                    $"runtimeConfig.ips: {other} and {address} are both in range set {at.Set}; one address per range set is allocated");
            wanted[at.Set] = address;
        }
        return wanted;
    }

    private IPAddress CheckRequestedFree(IPAddress address) =>
        _store.IsClaimed(address)
            ? throw new CniException(CniErrorCode.TryAgainLater,
                $"ipam: requested address {address} is already allocated in network \"{Config.NetworkName}\"")
            : address;

    /// <summary>
    /// The first address after the set's cursor with no claim, walking its ranges round robin and skipping each
    /// range's gateway (host-local's order). Null when the whole set is claimed.
    /// </summary>
    private IPAddress? FindFree(FileDescriptorHandle lockFile, int set)
    {
        var ranges = Config.RangeSets[set].Ranges;
        var family = Config.RangeSets[set].Family;
        int r = 0;
        var value = ranges[0].First;
        if (_store.ReadCursor(lockFile, set) is { } cursor && cursor.AddressFamily == family)
        {
            var number = AddressText.ToNumber(cursor);
            for (var i = 0; i < ranges.Count; i++)
                if (ranges[i].Contains(number))
                {
                    (r, value) = (i, number);
                    Advance(ranges, ref r, ref value);
                    break;
                }
        }

        var (startRange, startValue) = (r, value);
        do
        {
            if (value != ranges[r].GatewayNumber)
            {
                var candidate = AddressText.FromNumber(value, family);
                if (!_store.IsClaimed(candidate))
                    return candidate;
            }
            Advance(ranges, ref r, ref value);
        }
        while (r != startRange || value != startValue);
        return null;
    }

    private static void Advance(IReadOnlyList<IpamRange> ranges, ref int r, ref UInt128 value)
    {
        if (value >= ranges[r].Last)
        {
            r = (r + 1) % ranges.Count;
            value = ranges[r].First;
        }
        else
        {
            value++;
        }
    }

    private CniException Exhausted(int set) =>
        new(CniErrorCode.TryAgainLater,
            $"ipam: no free address in range set {set} ({Config.RangeSets[set]}) of network \"{Config.NetworkName}\"");

    private IpamLease LeaseOf(IPAddress[] addresses)
    {
        var leased = new LeasedAddress[addresses.Length];
        for (var i = 0; i < addresses.Length; i++)
        {
            var range = Config.Locate(addresses[i])!.Value.Range;
            leased[i] = new LeasedAddress(addresses[i], range.PrefixLength, range.Gateway);
        }
        return new IpamLease(leased, Config.Routes);
    }
}
