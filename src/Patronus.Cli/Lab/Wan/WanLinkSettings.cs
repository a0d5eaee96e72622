using System.Text.Json;
using System.Text.Json.Serialization;

namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// What a WAN link does to the frames it carries, in each direction: the relay's whole configuration, kept in the
/// link's settings file, which <c>lab wan</c> rewrites and the running relay rereads.
/// </summary>
/// <param name="Delay">Milliseconds, one way.</param>
/// <param name="Jitter">Milliseconds: each frame's delay is drawn uniformly from delay ± jitter (at least 0).</param>
/// <param name="Loss">Percent of frames dropped at random.</param>
/// <param name="Rate">Mbit/s per direction; null: unlimited.</param>
/// <param name="Up">False: the link drops every frame (and those it was holding back).</param>
/// <param name="Generation">Counts the changes; the relay reports the generation it applied.</param>
public sealed record WanLinkSettings(double Delay, double Jitter, double Loss, double? Rate, bool Up = true, long Generation = 0)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static WanLinkSettings Read(string file) =>
        JsonSerializer.Deserialize<WanLinkSettings>(File.ReadAllText(file), Json) ?? throw new IOException($"{file} is empty");

    /// <summary>Written whole and renamed into place, so the relay never reads half a file.</summary>
    public void Write(string file)
    {
        var temporary = $"{file}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, file, overwrite: true);
    }
}
