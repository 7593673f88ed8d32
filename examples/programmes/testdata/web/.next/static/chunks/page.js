export default function Home(){return "ok"}
