/* tokens.hotloop._cloop: the compiled verification hot loop.
 *
 * Key(key: bytes, alg: int)          alg 0 = SHA1, 1 = SHA256, 2 = SHA512; HMAC pads hashed once
 *   .code(counter, digits=6) -> str
 *   .codes(start, count, digits=6) -> list[str]
 *   .scan(code, start, count, digits=6) -> int | None     constant time over the window
 * verify(keys, codes, centres, behind, ahead, digits, lo=0, hi=-1) -> list[int | None]
 *   items [lo, hi): signed offset of the first matching counter from the centre, or None;
 *   parsed with the GIL held, hashed without it
 * implementation() -> str / set_implementation(name)    "shani" or "portable" (tests, benchmarks)
 *
 * Cost per code: two compression calls (inner block = counter + padding, outer block = inner
 * digest + padding), both starting from the key's precomputed pad states.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_hmac.h"

typedef struct {
    PyObject_HEAD
    ts_key key;
} KeyObject;

static PyObject *InputError = NULL;
/* ------------------------------------------------------------------ argument checks */


static int parse_digits(PyObject *o, int *digits)
{
    long v;
    if (o == NULL) {
        *digits = 6;
        return 0;
    }
    if (!PyLong_CheckExact(o)) {
        PyErr_Format(InputError, "digits must be 6, 7 or 8 (got %R)", o);
        return -1;
    }
    v = PyLong_AsLong(o);
    if (v < 6 || v > 8) {
        PyErr_Clear();
        PyErr_Format(InputError, "digits must be 6, 7 or 8 (got %R)", o);
        return -1;
    }
    *digits = (int)v;
    return 0;
}

/* A non-negative int below 2**64 (bool refused). */
static int parse_u64(PyObject *o, const char *what, uint64_t *out)
{
    unsigned long long v;
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(InputError, "%s must be an int (got %.80s)", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(InputError, "%s must be from 0 to 2**64-1 (got %R)", what, o);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* A code: str of exactly `digits` ASCII digits -> its value. */
static int parse_code(PyObject *o, int digits, uint32_t *out)
{
    Py_ssize_t n, i;
    const char *s;
    uint32_t v = 0;
    if (!PyUnicode_Check(o)) {
        PyErr_Format(InputError, "a code must be a str (got %.80s)", Py_TYPE(o)->tp_name);
        return -1;
    }
    if (PyUnicode_IS_COMPACT_ASCII(o)) { /* the usual case: no call, no copy */
        n = PyUnicode_GET_LENGTH(o);
        s = (const char *)PyUnicode_DATA(o);
    } else {
        s = PyUnicode_AsUTF8AndSize(o, &n);
    }
    if (s == NULL) {
        PyErr_Clear();
        PyErr_SetString(InputError, "a code must be ASCII digits");
        return -1;
    }
    if (n != digits) {
        PyErr_Format(InputError, "a code must have %d digits (got %zd characters)", digits, n);
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) {
            PyErr_SetString(InputError, "a code must contain only the digits 0-9");
            return -1;
        }
        v = v * 10 + c;
    }
    *out = v;
    return 0;
}

/* Windows hold at most 2**24 counters (0.6 s of hashing) and stay below 2**64. */
#define TS_MAX_WINDOW ((uint64_t)1 << 24)
static int check_window(uint64_t start, uint64_t count)
{
    if (count > TS_MAX_WINDOW) {
        PyErr_SetString(InputError, "a window holds at most 2**24 counters");
        return -1;
    }
    if (count > 0 && start > UINT64_MAX - (count - 1)) {
        PyErr_SetString(InputError, "counter window runs past 2**64-1");
        return -1;
    }
    return 0;
}

static PyObject *format_code(uint32_t value, int digits)
{
    char buf[8];
    int i;
    for (i = digits - 1; i >= 0; i--) {
        buf[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return PyUnicode_FromStringAndSize(buf, digits);
}

/* ------------------------------------------------------------------ Key type */

static PyTypeObject KeyType;

static PyObject *Key_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "alg", NULL};
    Py_buffer key;
    int alg;
    KeyObject *self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*i", kwlist, &key, &alg))
        return NULL;
    if (alg < ALG_SHA1 || alg > ALG_SHA512) {
        PyBuffer_Release(&key);
        PyErr_Format(InputError, "unknown algorithm id %d", alg);
        return NULL;
    }
    self = (KeyObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyBuffer_Release(&key);
        return NULL;
    }
    ts_key_setup(&self->key, (const uint8_t *)key.buf, (size_t)key.len, alg);
    PyBuffer_Release(&key);
    return (PyObject *)self;
}

static void Key_dealloc(KeyObject *self)
{
    secure_zero(&self->key, sizeof self->key);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Key_code(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"counter", "digits", NULL};
    PyObject *ctr_o, *dig_o = NULL;
    uint64_t ctr;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O", kwlist, &ctr_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_u64(ctr_o, "counter", &ctr) < 0)
        return NULL;
    {
        uint32_t v;
        if (check_window(ctr, 1) < 0)
            return NULL;
        window_values(&self->key, ctr, 1, &v);
        return format_code(mod_pow10(v, digits), digits);
    }
}

static PyObject *Key_codes(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"start", "count", "digits", NULL};
    PyObject *start_o, *count_o, *dig_o = NULL, *list;
    uint64_t start, count, i;
    uint32_t *vals;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O", kwlist, &start_o, &count_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_u64(start_o, "start", &start) < 0 ||
        parse_u64(count_o, "count", &count) < 0 || check_window(start, count) < 0)
        return NULL;
    vals = PyMem_Malloc(count ? count * sizeof(uint32_t) : 1);
    if (vals == NULL)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < count; i += TS_CHUNK)
        window_values(&self->key, start + i, count - i < TS_CHUNK ? count - i : TS_CHUNK, vals + i);
    Py_END_ALLOW_THREADS
    list = PyList_New((Py_ssize_t)count);
    for (i = 0; list != NULL && i < count; i++) {
        PyObject *s = format_code(mod_pow10(vals[i], digits), digits);
        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    PyMem_Free(vals);
    return list;
}

static PyObject *Key_scan(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"code", "start", "count", "digits", NULL};
    PyObject *code_o, *start_o, *count_o, *dig_o = NULL;
    uint64_t start, count, found;
    uint32_t want;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|O", kwlist, &code_o, &start_o, &count_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_code(code_o, digits, &want) < 0 ||
        parse_u64(start_o, "start", &start) < 0 || parse_u64(count_o, "count", &count) < 0 ||
        check_window(start, count) < 0)
        return NULL;
    if (count > 16) {
        Py_BEGIN_ALLOW_THREADS
        found = scan_window(&self->key, start, count, want, digits);
        Py_END_ALLOW_THREADS
    } else {
        found = scan_window(&self->key, start, count, want, digits);
    }
    if (found == UINT64_MAX)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(found);
}

static PyObject *Key_get_alg(KeyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->key.alg);
}

static PyObject *Key_repr(KeyObject *self)
{
    static const char *names[] = {"SHA1", "SHA256", "SHA512"};
    return PyUnicode_FromFormat("<%s %s>", Py_TYPE(self)->tp_name, names[self->key.alg]);
}

static PyMethodDef Key_methods[] = {
    {"code", (PyCFunction)(void (*)(void))Key_code, METH_VARARGS | METH_KEYWORDS,
     "code(counter, digits=6) -> str"},
    {"codes", (PyCFunction)(void (*)(void))Key_codes, METH_VARARGS | METH_KEYWORDS,
     "codes(start, count, digits=6) -> list[str]"},
    {"scan", (PyCFunction)(void (*)(void))Key_scan, METH_VARARGS | METH_KEYWORDS,
     "scan(code, start, count, digits=6) -> int | None (constant time over the window)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Key_getset[] = {
    {"alg_id", (getter)Key_get_alg, NULL, "0 = SHA1, 1 = SHA256, 2 = SHA512", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject KeyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tokens.hotloop._cloop.Key",
    .tp_basicsize = sizeof(KeyObject),
    .tp_dealloc = (destructor)Key_dealloc,
    .tp_repr = (reprfunc)Key_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "HMAC key with precomputed pad states: Key(key: bytes, alg: int)",
    .tp_methods = Key_methods,
    .tp_getset = Key_getset,
    .tp_new = Key_new,
};

static int parse_window_side(PyObject *o, const char *what, uint64_t *out)
{
    if (parse_u64(o, what, out) < 0)
        return -1;
    if (*out >= TS_MAX_WINDOW / 2) {
        PyErr_Format(InputError, "%s must be below 2**23 steps", what);
        return -1;
    }
    return 0;
}

/* Re-raise the pending error as InputError("item i: ..."). */
static void item_error(Py_ssize_t i)
{
    PyObject *et, *ev, *tb, *msg;
    PyErr_Fetch(&et, &ev, &tb);
    PyErr_NormalizeException(&et, &ev, &tb);
    msg = PyUnicode_FromFormat("item %zd: %S", i, ev ? ev : Py_None);
    if (msg != NULL) {
        PyErr_SetObject(InputError, msg);
        Py_DECREF(msg);
    }
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(tb);
}

static PyObject *fast_sequence(PyObject *o, const char *what)
{
    PyObject *f;
    if (PyUnicode_Check(o) || PyBytes_Check(o) || PyByteArray_Check(o)) {
        PyErr_Format(InputError, "%s must be a sequence, not a single %.80s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    f = PySequence_Fast(o, "not a sequence");
    if (f == NULL && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(InputError, "%s must be a sequence (got %.80s)", what, Py_TYPE(o)->tp_name);
    }
    return f;
}

/* verify(keys, codes, centres, behind, ahead, digits, lo, hi) -> list[int | None] for items [lo, hi).
 * Parsing holds the GIL; the hashing loop runs without it, so several threads calling this on
 * different ranges overlap one's parsing with the others' hashing. */
static PyObject *mod_verify(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"keys", "codes", "centres", "behind", "ahead", "digits", "lo", "hi", NULL};
    PyObject *keys_o, *codes_o, *centres_o, *behind_o, *ahead_o, *dig_o;
    PyObject *keys_f = NULL, *codes_f = NULL, *centres_f = NULL, *digits_f = NULL, *list = NULL;
    Py_ssize_t lo = 0, hi = -1, n, i, m, held = 0; /* held: keys [0, held) of items are INCREF'd */
    uint64_t behind, ahead;
    int scalar_digits = 0;
    Item *items = NULL;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO|nn", kwlist, &keys_o, &codes_o, &centres_o, &behind_o,
                                     &ahead_o, &dig_o, &lo, &hi))
        return NULL;
    if (parse_window_side(behind_o, "behind", &behind) < 0 || parse_window_side(ahead_o, "ahead", &ahead) < 0)
        return NULL;
    if (PyLong_Check(dig_o)) {
        if (parse_digits(dig_o, &scalar_digits) < 0)
            return NULL;
    } else if ((digits_f = fast_sequence(dig_o, "digits")) == NULL) {
        return NULL;
    }
    if ((keys_f = fast_sequence(keys_o, "keys")) == NULL || (codes_f = fast_sequence(codes_o, "codes")) == NULL ||
        (centres_f = fast_sequence(centres_o, "centres")) == NULL)
        goto done;
    n = PySequence_Fast_GET_SIZE(keys_f);
    if (PySequence_Fast_GET_SIZE(codes_f) != n || PySequence_Fast_GET_SIZE(centres_f) != n ||
        (digits_f != NULL && PySequence_Fast_GET_SIZE(digits_f) != n)) {
        PyErr_SetString(InputError, "keys, codes, centres (and a digits sequence) must have the same length");
        goto done;
    }
    if (hi < 0 || hi > n)
        hi = n;
    if (lo < 0 || lo > hi) {
        PyErr_SetString(InputError, "bad item range");
        goto done;
    }
    m = hi - lo;
    items = PyMem_Malloc((m ? (size_t)m : 1) * sizeof(Item));
    if (items == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        PyObject **ks = PySequence_Fast_ITEMS(keys_f), **cs = PySequence_Fast_ITEMS(codes_f);
        PyObject **ts = PySequence_Fast_ITEMS(centres_f);
        PyObject **ds = digits_f ? PySequence_Fast_ITEMS(digits_f) : NULL;
        PyTypeObject *key_type = &KeyType; /* last key type seen: skips the subtype walk */
        for (i = lo; i < hi; i++) {
            Item *it = &items[i - lo];
            uint64_t centre, wlo, whi;
            if (Py_TYPE(ks[i]) == key_type) {
                /* same type as the previous key */
            } else if (PyObject_TypeCheck(ks[i], &KeyType)) {
                key_type = Py_TYPE(ks[i]);
            } else {
                PyErr_Format(InputError, "item %zd: key must be a compiled PreparedKey (got %.80s)", i,
                             Py_TYPE(ks[i])->tp_name);
                goto done;
            }
            it->digits = scalar_digits;
            if ((ds != NULL && parse_digits(ds[i], &it->digits) < 0) ||
                parse_code(cs[i], it->digits, &it->want) < 0 || parse_u64(ts[i], "centre", &centre) < 0) {
                item_error(i);
                goto done;
            }
            wlo = centre < behind ? 0 : centre - behind;
            whi = UINT64_MAX - centre < ahead ? UINT64_MAX : centre + ahead;
            Py_INCREF(ks[i]); /* the caller's list may change while the GIL is released */
            it->key = &((KeyObject *)ks[i])->key;
            it->owner = ks[i];
            held++;
            it->start = wlo;
            it->count = (uint32_t)(whi - wlo + 1);
            it->lead = (int64_t)(centre - wlo);
        }
    }
    Py_BEGIN_ALLOW_THREADS
    run_items(items, m);
    Py_END_ALLOW_THREADS
    if ((list = PyList_New(m)) == NULL)
        goto done;
    for (i = 0; i < m; i++) {
        PyObject *v;
        if (items[i].result == MISS) {
            v = Py_None;
            Py_INCREF(v);
        } else if ((v = PyLong_FromLongLong(items[i].result)) == NULL) {
            Py_CLEAR(list);
            goto done;
        }
        PyList_SET_ITEM(list, i, v);
    }
done:
    for (i = 0; i < held; i++)
        Py_DECREF((PyObject *)items[i].owner);
    PyMem_Free(items);
    Py_XDECREF(keys_f);
    Py_XDECREF(codes_f);
    Py_XDECREF(centres_f);
    Py_XDECREF(digits_f);
    return list;
}

/* ------------------------------------------------------------------ module */

static PyObject *mod_implementation(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(use_shani ? "shani" : "portable");
}

static PyObject *mod_set_implementation(PyObject *self, PyObject *arg)
{
    const char *name;
    (void)self;
    if (!PyUnicode_Check(arg) || (name = PyUnicode_AsUTF8(arg)) == NULL) {
        PyErr_SetString(InputError, "implementation must be 'shani' or 'portable'");
        return NULL;
    }
    if (strcmp(name, "portable") == 0) {
        use_shani = 0;
    } else if (strcmp(name, "shani") == 0) {
        if (!tokensim_cpu_has_shani()) {
            PyErr_SetString(InputError, "this CPU has no SHA extensions");
            return NULL;
        }
        use_shani = 1;
    } else {
        PyErr_SetString(InputError, "implementation must be 'shani' or 'portable'");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_cpu_has_shani(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tokensim_cpu_has_shani());
}

static PyMethodDef module_methods[] = {
    {"implementation", mod_implementation, METH_NOARGS, "'shani' or 'portable'"},
    {"set_implementation", mod_set_implementation, METH_O, "select 'shani' or 'portable' (process-wide)"},
    {"verify", (PyCFunction)(void (*)(void))mod_verify, METH_VARARGS | METH_KEYWORDS,
     "verify(keys, codes, centres, behind, ahead, digits, lo=0, hi=-1) -> list[int | None]"},
    {"cpu_has_shani", mod_cpu_has_shani, METH_NOARGS, "whether cpuid reports SHA extensions"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cloop_module = {
    PyModuleDef_HEAD_INIT, "_cloop", "Compiled HOTP/TOTP verification hot loop.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cloop(void)
{
    PyObject *m, *errors;
    errors = PyImport_ImportModule("tokens.errors");
    if (errors == NULL)
        return NULL;
    InputError = PyObject_GetAttrString(errors, "InputError");
    Py_DECREF(errors);
    if (InputError == NULL)
        return NULL;
    if (PyType_Ready(&KeyType) < 0)
        return NULL;
    use_shani = tokensim_cpu_has_shani();
    m = PyModule_Create(&cloop_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&KeyType);
    if (PyModule_AddObject(m, "Key", (PyObject *)&KeyType) < 0)
        return NULL;
    return m;
}
