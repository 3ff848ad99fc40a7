//! Errors as the command words them: the engine's data errors name the library's options
//! (`CsvOptions::text_columns`, `MissingPolicy::FillMean` …), which a command-line user cannot
//! reach; here the same facts name the command's flags instead.

use wgtrain::Error;
use wgtrain::data::DataError;

/// The text `wgtrain: error: …` shows for `e`.
pub fn describe(e: &Error) -> String {
    let Error::Data(d) = e else {
        return e.to_string();
    };
    match d {
        DataError::ParseNumber {
            path,
            line,
            column,
            value,
        } => format!(
            "{path}:{line}: column `{column}`: `{value}` is not a number (if the column holds text, \
             add it to --text-columns; if it is an id, --ignore it; for decimal commas, --decimal-comma)"
        ),
        DataError::TooManyCategories {
            path,
            line,
            column,
            limit,
            value,
        } => format!(
            "{path}:{line}: column `{column}` has more than {limit} distinct text values (value `{value}`); \
             raise --max-categories, or leave the column out with --ignore {column}"
        ),
        DataError::AllRowsDropped { path, rows, first_line } => format!(
            "{path}: all {rows} rows were dropped because each has a missing value (first at line \
             {first_line}); fill them instead with --missing mean (or median, zero)"
        ),
        DataError::ColumnNotFound {
            path,
            column,
            option,
            columns,
        } => {
            let flag = match *option {
                "ignore_columns" => "--ignore",
                "text_columns" => "--text-columns",
                "copy_columns" => "--keep",
                other => other,
            };
            format!(
                "{path}: column `{column}` ({flag}) not found; the columns are: {}",
                quoted(columns)
            )
        }
        DataError::LabelNotFound { path, label, columns } => format!(
            "{path}: label column {label} not found (name it with --label); the columns are: {}",
            quoted(columns)
        ),
        DataError::TextLabel {
            path,
            line,
            column,
            value,
        } => format!(
            "{path}:{line}: label column `{column}` holds text (`{value}`), which cannot be a regression \
             target (a regression loss or --task regression asks for one); train a classifier on it: \
             --task binary or multiclass, with --loss bce, cce or sce"
        ),
        DataError::EmptySplit {
            path,
            rows,
            test_fraction,
            side,
        } => format!(
            "{path}: --test-split {test_fraction} over {rows} rows leaves the {side} side empty; change \
             it (0 means no test set)"
        ),
        DataError::InvalidArgument { what: "split", .. } => {
            "invalid --stratify: a stratified split needs a classification label".to_string()
        }
        other => other.to_string(),
    }
}

/// `` `a`, `b` `` (at most 40 names, then a count).
fn quoted(names: &[String]) -> String {
    let mut text: Vec<String> = names.iter().take(40).map(|n| format!("`{n}`")).collect();
    if names.len() > 40 {
        text.push(format!("… and {} more", names.len() - 40));
    }
    text.join(", ")
}
