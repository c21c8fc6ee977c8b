import { render } from "preact";
import { App } from "./views/App";
import "./style.css";

render(<App />, document.getElementById("app")!);
