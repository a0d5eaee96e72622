using System.Net;

namespace Patronus.Cni.Ipam;

/// <summary>What one attachment holds: an address per range set (in range set order) and the config's routes.</summary>
public sealed record IpamLease(IReadOnlyList<LeasedAddress> Addresses, IReadOnlyList<IpamRoute> Routes);

/// <summary>An allocated address with its subnet's prefix length and the range's gateway.</summary>
public sealed record LeasedAddress(IPAddress Address, int PrefixLength, IPAddress? Gateway);

public sealed record IpamRoute(IPNetwork Destination, IPAddress? Gateway);

/// <summary>
/// The outcome of <see cref="PatronusIpam.Collect"/>. <see cref="Released"/> counts addresses freed because their
/// attachment is no longer valid; <see cref="Repaired"/> counts files an interrupted operation left behind that
/// were removed or rewritten (a half-written address claim, an owner index out of step with the claims).
/// </summary>
public sealed record GcReport(int Released, int Repaired);

/// <summary>
/// Whether ADD can succeed: the data folder is usable and every range set has a free address. When not,
/// <see cref="Problem"/> says why (the STATUS verb reports it with code 50).
/// </summary>
public sealed record IpamStatus(bool Available, string? Problem);
