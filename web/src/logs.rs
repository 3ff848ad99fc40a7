//! The engine's logs and histories as plain JavaScript objects (`{loss: 0.61, accuracy: 0.7}`,
//! `{loss: [...], accuracy: [...]}`), and the per-epoch callback a page passes to `fit`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Reflect};
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wgtrain::model::{Control, History, Logs};

/// `{name: value, …}`.
pub(crate) fn logs_object(logs: &Logs) -> Object {
    let object = Object::new();
    for (name, value) in logs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &name.as_str().into(), &f64::from(*value).into());
    }
    object
}

/// `{epochs, name: [value per epoch], …}`.
pub(crate) fn history_object(history: &History) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &"epochs".into(), &(history.epochs as f64).into());
    for (name, values) in &history.metrics {
        let array: Array = values.iter().map(|v| JsValue::from(f64::from(*v))).collect();
        let _ = Reflect::set(&object, &name.as_str().into(), &array);
    }
    object
}

/// Where an exception the callback threw waits for `fit` to rethrow it.
pub(crate) type Thrown = Rc<RefCell<Option<JsValue>>>;

/// The page's `onEpoch(epoch, logs)` (epochs counted from 1) as an engine epoch hook. The hook runs inside `fit`'s
/// future on the page's one thread (SendWrapper asserts so); an exception the callback throws,
/// or a `false` it returns, stops training after that epoch, and the exception is kept for
/// `fit` to rethrow.
pub(crate) struct EpochCallback {
    function: SendWrapper<Function>,
    thrown: SendWrapper<Thrown>,
}

impl EpochCallback {
    /// Wraps the page's function.
    pub(crate) fn new(function: Function) -> Self {
        EpochCallback {
            function: SendWrapper::new(function),
            thrown: SendWrapper::new(Rc::new(RefCell::new(None))),
        }
    }

    /// The hook `FitOptions::on_epoch_end` takes, and the cell an exception lands in.
    pub(crate) fn into_hook(self) -> (impl FnMut(usize, &Logs) -> Control + Send + 'static, Thrown) {
        let thrown = (*self.thrown).clone();
        let (function, cell) = (self.function, self.thrown);
        let hook = move |epoch: usize, logs: &Logs| match function.call2(
            &JsValue::NULL,
            &((epoch + 1) as f64).into(),
            &logs_object(logs),
        ) {
            Ok(answer) if answer == JsValue::FALSE => Control::Stop,
            Ok(_) => Control::Continue,
            Err(exception) => {
                cell.borrow_mut().get_or_insert(exception);
                Control::Stop
            }
        };
        (hook, thrown)
    }
}
