using System.Runtime.Versioning;
using System.Threading.Channels;
using Grpc.Core;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Cli.Bench;

/// <summary>
/// The <c>direct</c> path, the floor: the runtime's own session processor, dispatcher and compiled
/// invoker, loaded into this process, fed through in-memory channels: messages are encoded and
/// decoded as on a transport, but nothing crosses a process; everything else is the real runtime.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class DirectRuntime : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SessionProcessor _processor;

    public DirectRuntime(string samples)
    {
        var codecs = PayloadCodecs.CreateDefault();
        var catalog = UserCodeLoader.Load(samples, NullLoggerFactory.Instance, codecs);
        _processor = new SessionProcessor(
            catalog,
            Options.Create(new UserCodeOptions { Path = samples }),
            new RuntimeCounters(),
            NullLoggerFactory.Instance,
            new Lifetime(_stopping.Token));
    }

    public ISessionChannel Open() => new Channel(_processor);

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Lifetime(CancellationToken stopping) : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => stopping;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    private sealed class Channel : ISessionChannel, ISessionOutput
    {
        private readonly Channel<MemberMessageBuffer> _in = System.Threading.Channels.Channel.CreateUnbounded<MemberMessageBuffer>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly Channel<RuntimeBytes> _out = System.Threading.Channels.Channel.CreateUnbounded<RuntimeBytes>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly CancellationTokenSource _transport = new();
        private readonly Task _session;

        public Channel(SessionProcessor processor) => _session = RunAsync(processor);

        private async Task RunAsync(SessionProcessor processor)
        {
            await Task.Yield();
            try
            {
                await processor.RunAsync(_in.Reader.ReadAllAsync(_transport.Token), this, _transport.Token).ConfigureAwait(false);
                _out.Writer.TryComplete();
            }
            catch (SessionRejectedException e)
            {
                _out.Writer.TryComplete(new SessionEndedException(e.StatusCode, e.Message, e));
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
            {
                _out.Writer.TryComplete(new SessionEndedException(StatusCode.Unavailable, e.Message, e));
            }
        }

        // Messages cross as the bytes a transport would carry (one copy each way, as a transport
        // makes): encoded by the member, read in place by the runtime, results read by the member.
        ValueTask ISessionOutput.WriteAsync(RuntimeMessageBuffer message, bool moreFollows, CancellationToken cancellationToken) =>
            _out.Writer.WriteAsync(RuntimeBytes.Copy(message.Span), cancellationToken);

        public ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken) =>
            _in.Writer.WriteAsync(MemberMessageBuffer.From(message), cancellationToken);

        public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
        {
            if (await ReadBytesAsync(cancellationToken).ConfigureAwait(false) is not { } bytes)
            {
                return null;
            }

            var message = bytes.ToMessage();
            bytes.Release();
            return message;
        }

        public async ValueTask<RuntimeBytes?> ReadBytesAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await _out.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && _out.Reader.TryRead(out var m) ? m : null;
            }
            catch (ChannelClosedException e) when (e.InnerException is SessionEndedException ended)
            {
                throw ended;
            }
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            _in.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            _in.Writer.TryComplete();
            try
            {
                await _session.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await _transport.CancelAsync().ConfigureAwait(false);
            }

            _transport.Dispose();
        }
    }
}
