using System.Diagnostics;
using Jex.Member.Diagnostics;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging;

namespace Jex.Member.Launch;

/// <summary>
/// Starts a process whose stdout carries a runtime's ready line (the runtime itself, or the container
/// CLI attached to it): keeps the last lines of its output for error messages, logs them, and
/// completes <see cref="Ready"/> with the parsed ready line.
/// </summary>
internal sealed class RuntimeOutput
{
    private RuntimeOutput(Process process, OutputTail tail, Task<RuntimeReadyInfo> ready)
    {
        Process = process;
        Tail = tail;
        Ready = ready;
    }

    public Process Process { get; }

    public OutputTail Tail { get; }

    /// <summary>Completes with the ready line, or faults when a line starting like one does not parse.</summary>
    public Task<RuntimeReadyInfo> Ready { get; }

    /// <summary>Starts <paramref name="startInfo"/>; throws <see cref="RuntimeStartException"/> naming <paramref name="executable"/> if it cannot.</summary>
    public static RuntimeOutput Start(ProcessStartInfo startInfo, string executable, ILogger logger)
    {
        var tail = new OutputTail();
        var ready = new TaskCompletionSource<RuntimeReadyInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var pid = 0;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            if (!ready.Task.IsCompleted)
            {
                try
                {
                    if (ReadyLine.TryParse(line, out var info))
                    {
                        ready.TrySetResult(info!);
                        return;
                    }
                }
                catch (FormatException ex)
                {
                    ready.TrySetException(new RuntimeStartException($"the runtime's ready line is malformed ({ex.Message}): {line}", ex));
                    return;
                }
            }

            tail.Add(line);
            Log.RuntimeOutput(logger, pid, line);
        };
        // stderr: the runtime's log, and for containers the CLI's own errors (no such image, ...).
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                tail.Add(line);
                Log.RuntimeOutput(logger, pid, line);
            }
        };

        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            // Not executable, or gone since it was checked: the next start would fail the same way.
            throw new RuntimeStartException($"cannot start {executable}: {ex.Message}", ex) { IsFinal = true };
        }

        pid = process.Id;
        if (startInfo.RedirectStandardInput)
        {
            process.StandardInput.Close();
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RuntimeOutput(process, tail, ready.Task);
    }
}
