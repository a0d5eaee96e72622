using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// The image scripts/build-image.sh builds (once per test run; the script itself skips what did not change), and
/// podman set up as these machines need it (runc, cgroupfs, explicit ulimits) in a containers.conf of the tests' own.
/// </summary>
public sealed class PatronusImage : IDisposable
{
    public const string Tag = "localhost/patronus:dev";

    private readonly string _conf = Directory.CreateTempSubdirectory("patronus-podman-").FullName;

    public PatronusImage()
    {
        File.WriteAllText(Path.Combine(_conf, "containers.conf"), """
            [containers]
            default_ulimits = ["nproc=1024:1024", "nofile=1024:1024"]
            [engine]
            runtime = "runc"
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            """);
        var (code, output, error) = Repository.Run(Repository.Path("scripts/build-image.sh"), [], TimeSpan.FromMinutes(15));
        if (code != 0)
            throw new InvalidOperationException($"scripts/build-image.sh failed ({code}):\n{error}\n{output}");
        BuildOutput = output;
    }

    /// <summary>The script's last line: the image, its size and id.</summary>
    public string BuildOutput { get; }

    public (int Code, string Output, string Error) Podman(params string[] arguments) => Podman(TimeSpan.FromMinutes(3), arguments);

    public (int Code, string Output, string Error) Podman(TimeSpan timeout, params string[] arguments) =>
        Repository.Run("podman", arguments, timeout, new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(_conf, "containers.conf") });

    public string MustPodman(params string[] arguments)
    {
        var (code, output, error) = Podman(arguments);
        Assert.True(code == 0, $"podman {string.Join(' ', arguments)} failed ({code}):\n{error}\n{output}");
        return output;
    }

    /// <summary>The image's file system, read-only, for looking at what it holds; unmounted on dispose.</summary>
    public string Mount()
    {
        var path = MustPodman("image", "mount", Tag).Trim();
        Assert.True(Directory.Exists(path), $"podman image mount gave {path}");
        return path;
    }

    public void Dispose()
    {
        Podman("image", "unmount", Tag);
        Directory.Delete(_conf, recursive: true);
    }

    /// <summary>Resolves <paramref name="path"/> inside <paramref name="root"/>, following symbolic links as the container would (absolute ones from its root).</summary>
    public static string? ResolveIn(string root, string path, int depth = 0)
    {
        if (depth > 16)
            return null;
        var current = "/";
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            var onHost = root + next;
            var info = new FileInfo(onHost);
            if (info.LinkTarget is { } target)
            {
                var resolved = ResolveIn(root, target.StartsWith('/') ? target : Path.Combine(current, target), depth + 1);
                if (resolved is null)
                    return null;
                next = resolved;
            }
            else if (!info.Exists && !Directory.Exists(onHost))
            {
                return null;
            }
            current = Path.GetFullPath(next);
        }
        return current;
    }

    /// <summary>Finds a command on the image's PATH as a container runtime would; null when it is not there.</summary>
    public static string? Which(string root, string command)
    {
        if (command.StartsWith('/'))
            return ResolveIn(root, command);
        foreach (var directory in "/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin".Split(':'))
            if (ResolveIn(root, Path.Combine(directory, command)) is { } found && File.Exists(root + found))
                return found;
        return null;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ImageCollection : ICollectionFixture<PatronusImage>
{
    public const string Name = "image";
}
