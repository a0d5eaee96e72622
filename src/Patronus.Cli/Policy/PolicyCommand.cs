using System.CommandLine;

namespace Patronus.Cli.Policy;

internal static class PolicyCommand
{
    public static Command Create()
    {
        var command = new Command("policy", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("patronus policy: not built yet");
            return 1;
        });
        return command;
    }
}
