namespace Patronus.Cni.Spec;

/// <summary>
/// The code CHECK reports when part of the attachment is missing (an address, a route, the host veth, the
/// allocation). SPEC.md reserves 1-99; none of its codes says "state differs", so this is in the
/// plugin-specific range (100+) the spec allows. A missing namespace or container interface is code 3.
/// </summary>
public static class CheckFailure
{
    public const CniErrorCode Code = (CniErrorCode)100;
}
