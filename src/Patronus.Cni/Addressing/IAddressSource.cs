using Patronus.Cni.Spec;

namespace Patronus.Cni.Addressing;

/// <summary>
/// Where an attachment's addresses come from: the built-in store, or an IPAM plugin run as the spec says.
/// The result holds only <c>ips</c>, <c>routes</c> and <c>dns</c>; interface indexes are filled in by ADD.
/// </summary>
public interface IAddressSource
{
    /// <summary>Allocates (or returns the existing allocation of) this attachment's addresses.</summary>
    CniResult Allocate();

    /// <summary>Releases the attachment's addresses; an attachment with none is success.</summary>
    void Release();

    /// <summary>Fails with the spec's error when the attachment holds no allocation (CHECK).</summary>
    void Check();
}
