// fathom from C# through P/Invoke (built with Mono's mcs: Debian 12 has no .NET SDK package; the
// same code builds with the .NET SDK). Streams the greedy continuation of a prompt; prints what
// `fathom run --temp 0` prints. Usage: mono Generate.exe MODEL [PROMPT] [N_TOKENS]
// The library is libfathom.so from the loader's path (LD_LIBRARY_PATH).
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

static class Fathom {
  const string Lib = "fathom";

  // Called with one generated token and the text it completed (UTF-8, valid during the call).
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate int TokenCallback(IntPtr userData, int token, IntPtr piece, UIntPtr length);

  // fathom_generate_params, field for field (capi/abi/layout.txt: 168 bytes on LP64).
  [StructLayout(LayoutKind.Sequential)]
  public struct GenerateParams {
    public UIntPtr struct_size;
    public ulong seed;
    public IntPtr on_token;
    public IntPtr user_data;
    public float temperature;
    public int top_k;
    public float top_p;
    public int max_tokens;
    public byte stop_at_eog;
    [MarshalAs(UnmanagedType.ByValArray, SizeConst = 7)] public byte[] reserved;
    public float min_p;
    public float typical_p;
    public int penalty_last_n;
    public float repeat_penalty;
    public float frequency_penalty;
    public float presence_penalty;
    public IntPtr logit_bias;
    public UIntPtr n_logit_bias;
    public IntPtr sampler_order;
    public UIntPtr n_sampler_order;
    public IntPtr stop;
    public UIntPtr n_stop;
    public IntPtr on_reasoning;
    public IntPtr reasoning_open_tag;
    public IntPtr reasoning_close_tag;
    public byte reasoning;
    public byte evaluate_last;
    [MarshalAs(UnmanagedType.ByValArray, SizeConst = 6)] public byte[] reserved2;
    public int speculative;
    public int n_draft;
  }

  [DllImport(Lib)] public static extern int fathom_abi_version();
  [DllImport(Lib)] static extern IntPtr fathom_last_error();
  [DllImport(Lib)] public static extern int fathom_model_load(byte[] path, IntPtr parameters,
                                                             out IntPtr model);
  [DllImport(Lib)] public static extern void fathom_model_free(IntPtr model);
  [DllImport(Lib)] public static extern int fathom_session_create(IntPtr model, IntPtr parameters,
                                                                 out IntPtr session);
  [DllImport(Lib)] public static extern void fathom_session_free(IntPtr session);
  [DllImport(Lib)] public static extern int fathom_tokenize(IntPtr model, byte[] text,
      UIntPtr length, byte addBos, byte parseSpecial, int[] tokens, UIntPtr capacity,
      out UIntPtr count);
  [DllImport(Lib)] public static extern int fathom_generate_params_init(ref GenerateParams p,
                                                                       UIntPtr structSize);
  [DllImport(Lib)] public static extern int fathom_session_generate(IntPtr session, int[] prompt,
      UIntPtr count, ref GenerateParams p, IntPtr outTokens, UIntPtr capacity, IntPtr outCount,
      IntPtr outStopReason);

  public static void Check(int status) {
    if (status != 0) {
      throw new Exception("fathom error " + status + ": " +
                          Marshal.PtrToStringAnsi(fathom_last_error()));
    }
  }
}

static class Program {
  static int Main(string[] args) {
    if (args.Length < 1) {
      Console.Error.WriteLine("usage: Generate.exe MODEL [PROMPT] [N_TOKENS]");
      return 2;
    }
    string prompt = args.Length > 1 ? args[1] : "Once upon a time";
    int nTokens = args.Length > 2 ? int.Parse(args[2]) : 64;
    if (Fathom.fathom_abi_version() != 0) {
      Console.Error.WriteLine("libfathom has another ABI version");
      return 1;
    }
    IntPtr model = IntPtr.Zero, session = IntPtr.Zero;
    Stream stdout = Console.OpenStandardOutput();
    try {
      Fathom.Check(Fathom.fathom_model_load(Encoding.UTF8.GetBytes(args[0] + "\0"), IntPtr.Zero,
                                            out model));
      Fathom.Check(Fathom.fathom_session_create(model, IntPtr.Zero, out session));
      byte[] text = Encoding.UTF8.GetBytes(prompt);
      UIntPtr n;
      // Two-phase: the count first, then a buffer of that size.
      Fathom.Check(Fathom.fathom_tokenize(model, text, (UIntPtr)text.Length, 1, 0, null,
                                          UIntPtr.Zero, out n));
      int[] tokens = new int[(int)n];
      Fathom.Check(Fathom.fathom_tokenize(model, text, (UIntPtr)text.Length, 1, 0, tokens, n,
                                          out n));

      var p = new Fathom.GenerateParams();
      Fathom.Check(Fathom.fathom_generate_params_init(
          ref p, (UIntPtr)Marshal.SizeOf(typeof(Fathom.GenerateParams))));
      Fathom.TokenCallback onToken = (userData, token, piece, length) => {
        byte[] bytes = new byte[(int)length];
        Marshal.Copy(piece, bytes, 0, bytes.Length);
        stdout.Write(bytes, 0, bytes.Length);  // the pieces are UTF-8: written unchanged
        stdout.Flush();
        return 0;  // non-zero would stop the generation
      };
      p.on_token = Marshal.GetFunctionPointerForDelegate(onToken);
      p.temperature = 0;  // greedy
      p.max_tokens = nTokens;
      Fathom.Check(Fathom.fathom_session_generate(session, tokens, n, ref p, IntPtr.Zero,
                                                  UIntPtr.Zero, IntPtr.Zero, IntPtr.Zero));
      GC.KeepAlive(onToken);
      stdout.WriteByte((byte)'\n');
      stdout.Flush();
      return 0;
    } catch (Exception e) {
      Console.Error.WriteLine("error: " + e.Message);
      return 1;
    } finally {
      Fathom.fathom_session_free(session);
      Fathom.fathom_model_free(model);
    }
  }
}
