namespace Patronus.Cni.Spec;

/// <summary>The CNI spec versions this plugin speaks, and the rules that differ between them.</summary>
public static class CniVersion
{
    public const string Latest = "1.1.0";

    /// <summary>Every version the plugin accepts in <c>cniVersion</c> and answers in (VERSION's <c>supportedVersions</c>).</summary>
    public static readonly IReadOnlyList<string> Supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    public static bool IsSupported(string version) => Supported.Contains(version);

    /// <summary>0.3.x and 0.4.0 results carry <c>ips[].version</c>; 1.0.0 dropped it.</summary>
    public static bool ResultHasIpVersion(string version) => Compare(version, "1.0.0") < 0;

    /// <summary>CHECK exists since 0.4.0 (SPEC.md, "CHECK: Check container's networking is as expected").</summary>
    public static bool HasCheck(string version) => Compare(version, "0.4.0") >= 0;

    /// <summary>GC and STATUS exist since 1.1.0.</summary>
    public static bool HasGcAndStatus(string version) => Compare(version, "1.1.0") >= 0;

    /// <summary>Compares dotted numeric versions; an unparsable part counts as 0 so it sorts lowest.</summary>
    public static int Compare(string a, string b)
    {
        var pa = a.Split('.');
        var pb = b.Split('.');
        for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            var x = i < pa.Length && int.TryParse(pa[i], out var xa) ? xa : 0;
            var y = i < pb.Length && int.TryParse(pb[i], out var yb) ? yb : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }

        return 0;
    }

    /// <summary>Fails with code 1 for a version this plugin does not speak, naming the field it came from.</summary>
    public static string Require(string? version, string field)
    {
        if (string.IsNullOrEmpty(version))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion,
                $"{field} is missing; supported versions are {string.Join(", ", Supported)}");
        }

        if (!IsSupported(version))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion,
                $"{field} \"{version}\" is not supported; supported versions are {string.Join(", ", Supported)}");
        }

        return version;
    }
}
